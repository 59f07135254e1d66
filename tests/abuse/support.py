"""Raw HTTP for the abuse suites (requests no polite client would send) and the test process's peak memory."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

T = 10.0


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def multipart(data: bytes, *, field: str = "file", filename: str = "photo.jpg",
              content_type: str = "image/jpeg") -> tuple[bytes, str]:
    """A one-file multipart body and its Content-Type header."""
    boundary = "delete-" + secrets.token_hex(12)
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def request_head(base_url: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    """The request line and headers, byte for byte as given (Host and Connection added)."""
    netloc = urlsplit(base_url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def open_raw(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(base_url)
    async with asyncio.timeout(T):
        return await asyncio.open_connection(parts.hostname, parts.port)


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    """Read one HTTP/1.1 response (Content-Length or to EOF)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
    return RawResponse(int(status_line.split(" ", 2)[1]), headers, body)


async def open_socket(base_url: str) -> socket.socket:
    """A raw non-blocking socket, for requests that keep writing while the answer comes back.

    asyncio's stream transport closes itself when a write fails and drops whatever the kernel
    had already received: a server that answers 413 and resets a connection still being written
    to would lose its answer. Read with ``read_socket_response``: it keeps what came before a reset.
    """
    parts = urlsplit(base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    async with asyncio.timeout(T):
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


async def _pump(sock: socket.socket, reader: asyncio.StreamReader) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await loop.sock_recv(sock, 65536)
        except ConnectionError:
            data = b""
        if not data:
            reader.feed_eof()
            return
        reader.feed_data(data)


async def read_socket_response(sock: socket.socket) -> RawResponse:
    """One response read from a raw socket; bytes that arrived before a reset still count."""
    reader = asyncio.StreamReader()
    pump = asyncio.create_task(_pump(sock, reader))
    try:
        return await read_response(reader)
    finally:
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(2):
            await writer.wait_closed()


class PeakMemory:
    """Peak resident memory of this process (the in-process test server's too) since ``reset``."""

    STATUS = Path("/proc/self/status")

    def _field(self, name: str) -> int:
        for line in self.STATUS.read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {name} in /proc/self/status")

    def reset(self) -> int:
        """Restart the high-water mark at the current RSS (Linux ``clear_refs`` 5); return the RSS in KiB."""
        Path("/proc/self/clear_refs").write_text("5")
        return self._field("VmRSS")

    def peak_kib(self) -> int:
        return self._field("VmHWM")
