"""Links in mails, built on ``APP_BASE_URL`` (the web app's origin; ``PUBLIC_BASE_URL`` + ``/app`` by default).

Parameters go in the fragment (``#token=…``): a browser never sends the fragment to a server, so a token in
a link cannot land in an access log, a proxy's log or a ``Referer`` header. The web app reads it from
``location.hash``.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode


def app_link(app_base_url: str, path: str, **params: str) -> str:
    """``<app_base_url>/<path>#<params>``, e.g. ``app_link(base, "reset-password", token=t)``."""
    url = f"{app_base_url.rstrip('/')}/{quote(path.lstrip('/'))}"
    return f"{url}#{urlencode(params)}" if params else url
