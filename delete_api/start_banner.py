"""What ``delete-api serve`` tells the person who started it: where everything is."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from delete_api.settings import Settings


def free_port(host: str) -> int:
    """A port nothing listens on at ``host`` right now (for ``--port 0``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def start_banner(settings: Settings, metrics_port: int | None = None) -> list[str]:
    """One line per address: the API, its documents, the socket, the moderators' dashboard, the metrics."""
    base = settings.public_base_url
    lines = [f"API            {base}/v1  (health: {base}/v1/health)",
             f"REST docs      {base}/v1/docs",
             f"socket docs    {base}/v1/asyncapi  (socket: {base.replace('http', 'ws', 1)}/v1/ws)",
             f"dashboard      {base}/moderation  (moderators)",
             f"web app        {base}/app  (the reference app for people)"]
    if metrics_port is not None:
        host = urlsplit(base).hostname or "127.0.0.1"
        lines.append(f"metrics        http://{host}:{metrics_port}/metrics  (Prometheus)")
    if not settings.public_base_url_set:
        lines.append("PUBLIC_BASE_URL is unset: photo and link URLs use this listening address")
    return lines
