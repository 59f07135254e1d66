"""Bodies that only the REST surface returns (CONTRACT section 1): tokens, the photo list, health."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.objects import Photo, User
from domain.wire.scalars import CLOSED


@with_config(CLOSED)
class Tokens(TypedDict):
    """The answer of signup, login and refresh."""

    user: User
    access_token: str
    refresh_token: Annotated[str, Field(description="works once: refreshing again with it revokes the login")]
    token_type: Literal["bearer"]
    expires_in: Annotated[int, Field(description="seconds until the access token expires", examples=[1800])]


@with_config(CLOSED)
class PhotoList(TypedDict):
    photos: list[Photo]


@with_config(CLOSED)
class Health(TypedDict):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, Literal["ok", "error"]]
