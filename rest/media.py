"""GET /media/{key}: stored photos, served by the app from unguessable keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from domain.errors import NotFound
from rest.context import deps


async def media(request: Request) -> Response:
    storage = deps(request).storage
    path_for = getattr(storage, "path_for", None)
    path = path_for(request.path_params["key"]) if path_for is not None else None
    if path is None:
        raise NotFound("no such file")
    return FileResponse(path, media_type="image/jpeg", headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    })
