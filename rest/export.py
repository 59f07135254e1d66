"""GET /v1/account/export: the caller's personal data as one JSON file (docs/accounts.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.accounts.export import export_account
from domain.transaction import unit_of_work
from rest.context import deps, principal


async def export(request: Request) -> Response:
    """200 with ``Content-Disposition: attachment``; 429 within an hour of the previous export."""
    me = await principal(request)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        document = await export_account(session, res.storage, me.user_id)
    filename = f"delete-export-{document['exported_at'][:10]}.json"
    return JSONResponse(document, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                           "Cache-Control": "no-store"})
