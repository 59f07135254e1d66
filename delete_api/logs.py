"""Logging: text for a terminal (the default) or one JSON object per line (``LOG_FORMAT=json``).

A JSON line carries ``time`` (RFC 3339 UTC, milliseconds), ``level``, ``logger``, ``node`` (``NODE_ID``),
``message`` and, where relevant, ``session_id`` and ``command`` (from ``infra.log_context``), the fields a
line was logged with (``duration_ms``, ``error_code``, ``close_code``, the access log's ``method``, ``route``,
``status``) and ``exc`` with the traceback. Both formats pass every message through ``scrub``: a token, an
email address or a password hash that slipped into a message is replaced, never written. Message bodies and
passwords are never logged in the first place (a test scans the logs of a workload for them).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from infra import log_context

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
OURS = "_delete_api_handler"  # marks the handler configure_logging installed
FIELDS = ("duration_ms", "error_code", "close_code", "method", "route", "status", "outcome")
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BCRYPT = re.compile(r"\$2[aby]\$\d\d\$[./\w]{53}")


def scrub(text: str) -> str:
    """``text`` with tokens, email addresses and password hashes replaced by a placeholder."""
    return _BCRYPT.sub("<password-hash>", _EMAIL.sub("<email>", _JWT.sub("<token>", text)))


class ScrubbingFormatter(logging.Formatter):
    """The text format, scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module's docstring)."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name, "node": self.node,
            "message": scrub(record.getMessage()),
        }
        for key, value in (("session_id", log_context.session_id.get()), ("command", log_context.command.get())):
            if value is not None:
                line[key] = value
        line.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str, node: str) -> None:
    """Send every logger (uvicorn's included) to standard error in ``log_format`` (``text`` or ``json``).

    A process whose logging someone else already set up (a test runner, a program embedding the CLI) is left
    as it is; calling this again replaces only what an earlier call installed.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, OURS, False)]
    if root.handlers and not ours:
        return
    handler = logging.StreamHandler()
    setattr(handler, OURS, True)
    handler.setFormatter(JsonFormatter(node) if log_format == "json" else ScrubbingFormatter(TEXT_FORMAT))
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own handlers would bypass ours
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
