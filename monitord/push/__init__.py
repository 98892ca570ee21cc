"""Live push: one snapshot of the live cache per tick, fanned out to every WebSocket client.

    push_snapshots (task.py)        encodes once per audience per tick, only while clients listen
    └ Audiences (audiences.py)      one hub per distinct visibility set (grant), issue 16
      └ SnapshotHub (hub.py)        hands the same Snapshot to every Subscription
        └ LatestSnapshotSlot (slot.py) one pending snapshot per client; newer replaces older

The WebSocket route (monitord/http/websocket.py) owns one Subscription per connection and the
tasks that send from its slot.
"""
