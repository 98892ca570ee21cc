"""Listening TCP sockets, bound before serving, for the HTTP and the gRPC servers alike.

Binding here, before a server library takes the socket, makes "address in use" a clear startup
error naming the address instead of a traceback from inside hypercorn or anyio.
"""

from __future__ import annotations

import socket

from monitord.config import ListenAddress
from monitord.errors import StartupError


def bind_listener(address: ListenAddress, tcp_user_timeout_seconds: float) -> socket.socket:
    """A bound, listening, non-blocking TCP socket for `address`; raises StartupError naming it.

    TCP_USER_TIMEOUT is set on the listening socket so that accepted ones inherit it: the kernel
    then drops peers that stop acknowledging what is sent to them (STACK trap 3).
    """
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(address.host, address.port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {address}: {exc.strerror}") from None
    sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(tcp_user_timeout_seconds * 1000))
        sock.bind(infos[0][4])
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {address}: {exc.strerror or exc}") from None
    return sock


def bound_address(sock: socket.socket) -> ListenAddress:
    """Where `sock` listens: the real port when it was bound to port 0."""
    host, port = sock.getsockname()[:2]
    return ListenAddress(host, port)
