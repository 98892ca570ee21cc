"""Live push: one snapshot of the live cache per tick, fanned out to every WebSocket client.

    push_snapshots (task.py)        encodes the cache once per tick, only while clients listen
    └ SnapshotHub (hub.py)          hands the same Snapshot to every Subscription
      └ LatestSnapshotSlot (slot.py) one pending snapshot per client; newer replaces older

The WebSocket route (monitord/http/websocket.py) owns one Subscription per connection and the
tasks that send from its slot.
"""
