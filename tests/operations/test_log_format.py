"""LOG_FORMAT: one JSON object per line with the context of the line, and scrubbing in both formats."""

from __future__ import annotations

import json
import logging

from delete_api.logs import TEXT_FORMAT, JsonFormatter, ScrubbingFormatter, configure_logging, scrub
from delete_api.settings import Settings
from infra import log_context

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
HASH = "$2b$12$" + "a" * 53


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("realtime.connection", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_json_line_carries_time_level_logger_node_and_the_context() -> None:
    """Inside a socket's command, the line names the session and the command, plus its own fields."""
    session = log_context.session_id.set("0b1c")
    command = log_context.command.set("messages.send")
    try:
        line = json.loads(JsonFormatter("node-a").format(_record("command done", duration_ms=1.5,
                                                                  error_code="not_found", ignored=1)))
    finally:
        log_context.command.reset(command)
        log_context.session_id.reset(session)
    assert line["level"] == "info" and line["logger"] == "realtime.connection" and line["node"] == "node-a"
    assert line["time"].endswith("Z") and line["message"] == "command done"
    assert line["session_id"] == "0b1c" and line["command"] == "messages.send"
    assert line["duration_ms"] == 1.5 and line["error_code"] == "not_found" and "ignored" not in line
    outside = json.loads(JsonFormatter("node-a").format(_record("idle")))
    assert "session_id" not in outside and "command" not in outside


def test_tokens_emails_and_hashes_are_scrubbed_from_both_formats() -> None:
    """A message that carries a secret by mistake is written with placeholders instead."""
    message = f"oops {TOKEN} for ada.l+x@example.co.uk with {HASH}"
    assert scrub(message) == "oops <token> for <email> with <password-hash>"
    for formatter in (JsonFormatter("n"), ScrubbingFormatter(TEXT_FORMAT)):
        text = formatter.format(_record(message))
        assert TOKEN not in text and "example.co.uk" not in text and HASH not in text
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    assert TOKEN not in JsonFormatter("n").format(record)
    assert "<token>" in json.loads(JsonFormatter("n").format(record))["exc"]


def test_configure_logging_sends_uvicorn_through_the_chosen_format(capsys: object) -> None:
    """uvicorn's loggers lose their own handlers and write JSON like everything else."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    root.handlers[:] = []  # a process nobody configured yet, as `delete-api serve` starts
    try:
        configure_logging("info", "json", "node-z")
        logging.getLogger("uvicorn.error").warning("Shutting down")  # uvicorn sets this logger's own level
        err = capsys.readouterr().err  # type: ignore[attr-defined]
        line = json.loads(err.strip().splitlines()[-1])
        assert line["logger"] == "uvicorn.error" and line["node"] == "node-z"
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])


def test_logging_set_up_by_the_host_is_left_alone() -> None:
    """Under a test runner (or any program that configured logging first) nothing is replaced or re-levelled."""
    root = logging.getLogger()
    foreign = logging.NullHandler()
    before = (list(root.handlers), root.level)
    root.handlers[:] = [foreign]
    root.setLevel(logging.WARNING)
    try:
        configure_logging("debug", "json", "node-z")
        assert root.handlers == [foreign] and root.level == logging.WARNING
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])


def test_log_format_and_node_id_are_read_and_checked() -> None:
    """LOG_FORMAT is text or json; NODE_ID names the process, else hostname-pid."""
    base = {"DATABASE_URL": "postgresql://x@localhost/db", "JWT_SECRET": "s" * 40}
    assert Settings.from_env(base).log_format == "text"
    settings = Settings.from_env({**base, "LOG_FORMAT": "JSON", "NODE_ID": "api-1"})
    assert settings.log_format == "json" and settings.node_name == "api-1"
    assert Settings.from_env(base).node_name.endswith(f"-{__import__('os').getpid()}")
    try:
        Settings.from_env({**base, "LOG_FORMAT": "xml"})
    except Exception as exc:
        assert "LOG_FORMAT" in str(exc)
    else:
        raise AssertionError("LOG_FORMAT=xml was accepted")
