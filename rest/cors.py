"""CORS for browsers on another origin (CONTRACT section 1, "Browsers on another origin (CORS)").

The origins allowed are ``ALLOWED_ORIGINS``, the list that also guards the socket's ``Origin``.

- **Preflight** (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an allowed origin, on a
  path a route serves: ``204`` with ``Access-Control-Allow-Origin: <that origin>``,
  ``Access-Control-Allow-Methods`` = the methods of the routes on that path, ``Access-Control-Allow-Headers:
  authorization, content-type``, ``Access-Control-Max-Age`` and ``Vary: Origin``. The answer states the policy;
  the browser compares its request with it (a method or header outside it fails in the browser). On a path no
  route serves the preflight goes on to the app: a 404 in the error shape, with the headers below.
- A preflight from **any other origin** (unlisted, a lookalike such as ``https://my.trydelete.app.evil.example``,
  ``null``): ``403 forbidden`` in the error shape, without any ``Access-Control-Allow-Origin``.
- **Every other response** gets ``Vary: Origin`` (a shared cache must not hand a response fetched without an
  allowed Origin to a browser that has one), and for an allowed ``Origin`` also ``Access-Control-Allow-Origin:
  <that origin>`` and ``Access-Control-Expose-Headers: Retry-After``. The app puts this middleware outside
  ``CatchAll`` and the exception handlers, so their 401, 413, 415, 422, 429 and 500/503 carry these headers too:
  a browser app can read the error and the ``Retry-After``.
- Never ``Access-Control-Allow-Credentials``: tokens travel in ``Authorization``, never in cookies.
- Origins compare exactly: a browser sends a serialised origin (``scheme://host[:port]``, no path), and
  ``ALLOWED_ORIGINS`` entries are stored without a trailing slash.
- WebSocket scopes pass through untouched. ``/v1/ws`` does not even reach this middleware (``SocketFirst`` hands
  upgrades straight to the socket), and keeps its own Origin rule (``realtime/endpoint.py``).

**Why not Starlette's ``CORSMiddleware``.** Its source (starlette 1.10) differs from the contract in five ways:
it answers an accepted preflight ``200``, not ``204``; it lists one set of methods for every path, not the
route's; it answers a refused preflight with a plain-text ``400 Disallowed CORS origin``, outside the contract's
error shape; it answers preflights on paths that do not exist; and it adds ``Vary: Origin`` only when the
request has an ``Origin``, and ``Access-Control-Expose-Headers`` for unlisted origins too. A subclass would
replace its ``__call__``, ``preflight_response`` and ``send``, that is everything but the origin check, and
would depend on those internal methods. This small middleware is simpler.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest.errors import error_response

ALLOW_HEADERS = "authorization, content-type"
EXPOSE_HEADERS = "Retry-After"
MAX_AGE_S = 3600  # browsers cap it anyway (Chromium at 2 h, Firefox at 24 h)
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def route_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str] | None:
    """The methods the routes on this request's path serve, or None if no route serves the path."""
    methods: set[str] = set()
    found = False
    for route in routes:
        if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
            found = True
            methods |= route.methods or set()
    if not found:
        return None
    return sorted(methods, key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m))


def preflight_answer(origin: str, methods: list[str]) -> Response:
    """The ``204`` for an allowed origin's preflight on a path served by ``methods``."""
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": str(MAX_AGE_S),
        "Vary": "Origin",
    })


def refused_preflight() -> Response:
    """A preflight from an origin not in ``ALLOWED_ORIGINS``: the error shape, no CORS grant."""
    return error_response(403, "forbidden", "this origin may not call the API from a browser",
                          headers={"Vary": "Origin"})


def add_cors_headers(headers: MutableHeaders, allowed_origin: str | None) -> None:
    """``Vary: Origin`` always; the grant and the exposed ``Retry-After`` for an allowed origin."""
    varies = {name.strip().lower() for value in headers.getlist("vary") for name in value.split(",")}
    if "origin" not in varies:
        headers.add_vary_header("Origin")
    if allowed_origin is not None:
        headers["Access-Control-Allow-Origin"] = allowed_origin
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS


class RestCors:
    """Answer preflights and add the CORS headers to every HTTP response, for the ``origins`` allowed.

    ``routes`` are the app's routes: a preflight lists the methods of the routes on its path.
    """

    def __init__(self, app: ASGIApp, origins: Collection[str], routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin if origin is not None and origin in self.origins else None
        if origin is not None and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            response = self._preflight(scope, allowed)
            if response is not None:
                await response(scope, receive, send)
                return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                add_cors_headers(MutableHeaders(scope=message), allowed)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, scope: Scope, allowed_origin: str | None) -> Response | None:
        """The answer to a preflight; None (on to the app, for its 404) if no route serves the path."""
        if allowed_origin is None:
            return refused_preflight()
        methods = route_methods(self.routes, scope)
        return None if methods is None else preflight_answer(allowed_origin, methods)
