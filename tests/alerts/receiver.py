"""A real HTTP webhook receiver on loopback for the alert tests (h11 over trio sockets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import h11
import trio


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next of `statuses` (then 200); `hang` never answers."""

    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    arrived: trio.Event = field(default_factory=trio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def wait_for(self, count: int) -> list[Received]:
        while len(self.requests) < count:
            await self.arrived.wait()
            self.arrived = trio.Event()
        return self.requests

    async def _handle(self, stream: trio.SocketStream) -> None:
        connection = h11.Connection(h11.SERVER)
        headers: dict[str, str] = {}
        body = b""
        async with stream:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    connection.receive_data(data)
                elif isinstance(event, h11.Request):
                    headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
            self.requests.append(Received(headers, body))
            self.arrived.set()
            if self.hang:
                await trio.sleep_forever()
            status = self.statuses.pop(0) if self.statuses else 200
            reply = b'{"secret": "target-body-must-not-leak"}'
            response = h11.Response(
                status_code=status, headers=[("content-length", str(len(reply))), ("connection", "close")]
            )
            await stream.send_all(
                connection.send(response) + connection.send(h11.Data(data=reply)) + connection.send(h11.EndOfMessage())
            )


async def start_receiver(nursery: trio.Nursery, receiver: Receiver) -> Receiver:
    listeners = await nursery.start(partial(trio.serve_tcp, receiver._handle, 0, host="127.0.0.1"))
    receiver.port = listeners[0].socket.getsockname()[1]
    return receiver
