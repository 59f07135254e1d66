"""GET/POST /v1/profile/photos and DELETE /v1/profile/photos/{id}."""

from __future__ import annotations

import asyncio
import uuid

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.errors import BadRequest, NotFound, ValidationFailed
from domain.photos import service
from domain.photos.images import process_photo
from domain.transaction import unit_of_work
from domain.wire.http import PhotoList
from rest.context import deps, principal

MULTIPART_OVERHEAD = 64 * 1024


async def list_photos(request: Request) -> Response:
    me = await principal(request)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        photos = await service.list_photos(session, res.storage, me.user_id)
    body: PhotoList = {"photos": photos}
    return JSONResponse(body)


async def upload_photo(request: Request) -> Response:
    me = await principal(request)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        await service.ensure_room(session, me.user_id)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValidationFailed.field("file", "send the image as multipart/form-data field 'file'")
    try:
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ValidationFailed.field("file", "required: the image as multipart field 'file'")
            data = await upload.read(res.config.photo_max_bytes + 1)
    except (BadRequest, ValidationFailed):
        raise
    except Exception:  # the multipart parser's own errors
        raise BadRequest("malformed multipart body") from None
    processed = await asyncio.to_thread(process_photo, data, max_bytes=res.config.photo_max_bytes,
                                        max_pixels=res.config.photo_max_pixels)
    async with unit_of_work(res.sessions) as session:
        photo = await service.add_photo(session, res.storage, me.user_id, processed, res.events)
    return JSONResponse(photo, status_code=201)


async def delete_photo(request: Request) -> Response:
    me = await principal(request)
    try:
        photo_id = uuid.UUID(request.path_params["photo_id"])
    except ValueError:
        raise NotFound("no such photo") from None
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        await service.delete_photo(session, res.storage, me.user_id, photo_id, res.events)
    return Response(status_code=204)
