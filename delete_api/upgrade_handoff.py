"""The WebSocket upgrade handed to the socket's protocol parsed once, by httptools.

uvicorn's HTTP protocol parses a request's head with httptools (llhttp, in C). For an upgrade to WebSocket it
then writes the head out again and feeds it to the WebSocket protocol, whose ``websockets`` parser reads it a
second time, in Python, line by line, each header checked by a regular expression. Measured alone
(docs/load.md, thirteenth session): that second parse costs ~20 us of CPU per connect, the Request built here
from httptools' fields ~4 us.

What that parse refuses in a head, llhttp refuses first (uvicorn answers 400): a header name that is not a token,
a control character in a value, a path that is not ASCII (``tests/test_upgrade_handoff.py``). The heads
``websockets`` answers with an error of its own take uvicorn's path unchanged, so they get the same answer as
before: another method than GET (405), more headers than ``MAX_NUM_HEADERS`` or a line longer than
``MAX_LINE_LENGTH`` (431 or 414), ``Transfer-Encoding`` or a body (400). So does an upgrade for a WebSocket
protocol class other than ``LeanWebSocketProtocol``, the one that takes a parsed head. The version is not looked
at, as uvicorn's path does not: it writes every head out as HTTP/1.1.
"""

from __future__ import annotations

from websockets.datastructures import Headers
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS, Request

from delete_api.header_timeout import HeaderTimeoutProtocol
from delete_api.ws_protocol import LeanWebSocketProtocol

REQUEST_LINE_EXTRA = len(b"GET  HTTP/1.1\r\n")  # what a request line adds to its path
HEADER_LINE_EXTRA = len(b": \r\n")  # what a header line adds to its name and value


class UpgradeHandoffProtocol(HeaderTimeoutProtocol):
    """``HeaderTimeoutProtocol`` whose WebSocket upgrades reach ``LeanWebSocketProtocol`` as a parsed Request."""

    def handle_websocket_upgrade(self) -> None:
        request = self._parsed_upgrade()
        if request is None:
            super().handle_websocket_upgrade()  # uvicorn's: the head written out again for websockets to parse
            return
        self.connections.discard(self)
        protocol = LeanWebSocketProtocol(config=self.config, server_state=self.server_state,
                                         app_state=self.app_state)
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.receive_request(request)

    def _parsed_upgrade(self) -> Request | None:
        """The head httptools parsed as websockets' Request, or None when websockets' own parse must see it."""
        if self.ws_protocol_class is not LeanWebSocketProtocol or not self._plain_head():
            return None
        headers = Headers()
        try:
            for name, value in self.headers:  # names lower-cased and values stripped by uvicorn, as before
                headers.set_insecure(name.decode("ascii"), value.decode("iso-8859-1"))
            path = self.url.decode("ascii")
        except UnicodeDecodeError:  # llhttp lets no such head through; websockets would answer it
            return None
        return Request(path, headers)

    def _plain_head(self) -> bool:
        """A GET with no body, within websockets' limits on headers and lines."""
        if self.scope["method"] != "GET":
            return False
        if len(self.headers) > MAX_NUM_HEADERS or len(self.url) + REQUEST_LINE_EXTRA > MAX_LINE_LENGTH:
            return False
        for name, value in self.headers:
            if len(name) + len(value) + HEADER_LINE_EXTRA > MAX_LINE_LENGTH:
                return False
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                return False
        return True
