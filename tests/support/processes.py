"""The project's commands as real processes: the repository root, a clean environment, and leftover processes."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus every variable the service reads, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "DATA_DIR", "MEDIA_DIR", "PORT", "HOST"}}
    env.update(extra)
    return env


def processes_using(path: Path) -> list[str]:
    """Command lines of live processes whose arguments or DATA_DIR point into ``path``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            data_dir = proc.environ().get("DATA_DIR", "")
        except psutil.Error:
            continue
        if str(path) in cmdline or data_dir.startswith(str(path)):
            found.append(cmdline)
    return found
