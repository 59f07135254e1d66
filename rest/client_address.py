"""The client's address as the login throttle sees it.

By default it is the TCP peer (``request.client.host``), and headers are ignored: anyone can send
``X-Forwarded-For``. Behind a proxy, ``TRUSTED_PROXY_HEADER`` names the header our proxy sets. For a
comma-separated list (``X-Forwarded-For: <what the client sent>, <what our proxy saw>``, possibly over several
header lines) the rightmost entry is taken: each proxy appends the address it received the connection from,
so every entry left of it may be written by the client, and only the last one comes from our own proxy.
A value that is not a bare IP address (empty, ``unknown``, with a port, garbage) falls back to the peer.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

UNKNOWN_PEER = "unknown"  # no peer address (e.g. a unix socket): such clients share one counter


def forwarded_address(values: list[str]) -> str | None:
    """The rightmost entry of the header's values as a canonical IP address, or None if malformed."""
    entries = ",".join(values).split(",")
    try:
        return str(ipaddress.ip_address(entries[-1].strip()))
    except ValueError:
        return None


def client_address(request: Request, trusted_header: str | None) -> str:
    """The address of the client of ``request`` (see the module docstring)."""
    peer = request.client.host if request.client is not None and request.client.host else UNKNOWN_PEER
    if trusted_header is None:
        return peer
    values = request.headers.getlist(trusted_header)
    return (forwarded_address(values) if values else None) or peer
