"""The embedded PostgreSQL stops what it started, also when ``pg_ctl`` cannot (a benchmark leaves no server)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from delete_api.embedded import postgres as embedded
from delete_api.embedded.postgres import EmbeddedPostgres


def test_stop_shuts_the_server_down_by_signal_when_pg_ctl_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """pg_ctl refused (as when overlapping pytest sessions make the data directory's parent private to root):
    the postmaster still goes, without a warning, and the started server's settings were the asked ones."""
    server = EmbeddedPostgres(tmp_path / "postgres", durable=False, shared_buffers="32MB")
    server.start()
    try:
        assert server.psql("postgres", "SHOW shared_buffers").strip() == "32MB"
        pid = server.postmaster_pid()
        assert pid is not None and embedded._alive(pid)
        real_run = server._run

        def refusing_pg_ctl_stop(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
            if args[-1] == "stop":
                return subprocess.CompletedProcess(args, 1, "", "pg_ctl: could not open PID file: Permission denied")
            return real_run(args, **kwargs)

        monkeypatch.setattr(server, "_run", refusing_pg_ctl_stop)
        server.stop()
        assert not embedded._alive(pid)
        assert not server.started_by_us
        assert "could not stop" not in caplog.text
    finally:
        if server.started_by_us:
            monkeypatch.undo()
            server.stop()
