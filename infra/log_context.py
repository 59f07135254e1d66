"""What a log line is about, carried by context variables: the socket's session and the command it runs.

The transports set them (the socket endpoint for its whole life, the connection around each command); the
JSON log format of the composition root reads them into every line written meanwhile, so a line deep in the
domain still names the session and the command it belongs to.
"""

from __future__ import annotations

from contextvars import ContextVar

session_id: ContextVar[str | None] = ContextVar("log_session_id", default=None)
command: ContextVar[str | None] = ContextVar("log_command", default=None)
