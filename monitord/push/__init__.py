"""Live push: the live cache encoded once per tick per protocol, fanned out to every WebSocket client.

    push_snapshots (task.py)        encodes once per audience and protocol per tick, only while clients listen
    └ Audiences (audiences.py)      one hub per distinct visibility set (grant), issue 16
      └ SnapshotHub (hub.py)        hands the same message to every Subscription of a protocol
        ├ Snapshot (snapshot.py)      monitord.v1: the whole list
        ├ DeltaStream (delta.py)      monitord.v2: a snapshot, then one compact delta per tick
        ├ OutgoingMessage (frames.py) a message's plain frame, and its deflated frame built once
        └ LatestSnapshotSlot (slot.py) one pending message per client; newer replaces older

The WebSocket route (monitord/http/websocket.py) owns one Subscription per connection and the
tasks that send from its slot.
"""
