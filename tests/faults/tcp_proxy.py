"""A TCP proxy on loopback that can stop forwarding: a database that stops answering without
closing the connection (a frozen host, a partition), without touching the shared server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio


class FreezableProxy:
    """Forwards every connection to `target`; while frozen, holds whatever arrives, both ways."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._thawed = trio.Event()
        self._thawed.set()

    def freeze(self) -> None:
        self._thawed = trio.Event()

    def thaw(self) -> None:
        self._thawed.set()

    async def _pump(self, source: trio.SocketStream, sink: trio.SocketStream) -> None:
        try:
            while data := await source.receive_some(65536):
                await self._thawed.wait()
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            # Half-closes are not forwarded: either side ending ends both.
            await sink.aclose()
            await source.aclose()

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client, await trio.open_tcp_stream(*self.target) as upstream, trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, client, upstream)
            nursery.start_soon(self._pump, upstream, client)


@asynccontextmanager
async def freezable_proxy(target: tuple[str, int]) -> AsyncIterator[FreezableProxy]:
    """A `FreezableProxy` listening on 127.0.0.1 (its `port`) until the context exits."""
    proxy = FreezableProxy(target)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, proxy._handle, 0, host="127.0.0.1"))
        proxy.port = listeners[0].socket.getsockname()[1]
        yield proxy
        nursery.cancel_scope.cancel()
