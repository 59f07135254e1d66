"""uvicorn's httptools HTTP protocol with a deadline for request headers (``HEADER_TIMEOUT_S``).

uvicorn times out only the idle time between keep-alive requests (``timeout_keep_alive``, cancelled by the
first byte of the next request). A fresh connection that sends nothing, or half a request line or head, and
a keep-alive connection that sends half of its next request, stay open for as long as the client likes: 50
such connections were all still open after 20 s (docs/security.md, "Slow request headers").

Here a timer is armed when the connection is made and when a request begins (if none is running), and
disarmed when the request's headers are complete; what comes after (the body, a WebSocket) has its own
limits. If the timer fires first, a client that had begun a request gets ``408`` with the contract's error
shape, and the connection is closed. If our own response to an earlier (pipelined) request is still being
sent, the head may be waiting behind it, so the timer is armed once more instead.

The timeout comes from the lifespan state (``HEADER_TIMEOUT_STATE``, set by ``delete_api.app``): uvicorn
hands that state to every protocol it makes, and the class itself stays importable by name, which worker
processes need (uvicorn pickles its config for them). The timer handle is dropped as soon as it is disarmed
or has fired, so it keeps no reference cycle alive.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

HEADER_TIMEOUT_STATE = "header_timeout_s"
DEFAULT_HEADER_TIMEOUT_S = 10.0
TIMEOUT_BODY = json.dumps({"error": {"code": "bad_request",
                                     "message": "the request headers did not arrive in time"}}).encode()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """The protocol of ``--http httptools`` that closes connections whose request headers come too slowly."""

    _header_timer: asyncio.TimerHandle | None = None
    _request_begun = False

    # asyncio.Protocol takes any BaseTransport; uvicorn's protocols (and so this one) are given a Transport
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._header_timer is None:  # a fresh connection's clock runs from connection_made
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._request_begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        seconds = float(self.app_state.get(HEADER_TIMEOUT_STATE, DEFAULT_HEADER_TIMEOUT_S))
        self._header_timer = self.loop.call_later(seconds, self._headers_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_header_timer()  # our response is in flight; reading may be paused until it is sent
            return
        if self._request_begun:
            self.transport.write(self._timeout_response())
        self.transport.close()

    def _timeout_response(self) -> bytes:
        content = [STATUS_LINE[408]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: application/json\r\n",
                        b"content-length: " + str(len(TIMEOUT_BODY)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n", b"\r\n", TIMEOUT_BODY])
        return b"".join(content)
