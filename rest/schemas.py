"""Request and response models of the REST surface (they also generate the OpenAPI document)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class SignupIn(Strict):
    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(description="8 to 128 characters; every character counts (see README).")
    display_name: str = Field(examples=["Ada"], description="1 to 50 characters after trimming and collapsing "
                              "spaces: letters of one script, digits, single spaces and ' - . · (no emoji, "
                              "invisible or bidi characters); the rule of me.update (docs/security.md)")
    birthdate: date = Field(description="YYYY-MM-DD; you must be 18 or older.")


class LoginIn(Strict):
    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


class RefreshIn(Strict):
    refresh_token: str = Field(max_length=4096)


class Location(BaseModel):
    """The centre of the person's ~1 km grid cell (the exact point is never stored)."""

    lat: float
    lon: float


class UserOut(BaseModel):
    """The caller's own full profile."""

    id: str
    email: str
    display_name: str
    birthdate: date
    age: int
    bio: str
    gender: Literal["woman", "man", "nonbinary"] | None
    interested_in: list[str]
    age_min: int
    age_max: int
    max_distance_km: int
    location: Location | None
    role: Literal["user", "moderator"]
    status: str
    created_at: str
    photos: list[PhotoOut]
    prompts: list[PromptAnswerOut]
    badges: list[str]
    quiz: dict[str, int] | None
    discoverable: bool


class PromptAnswerOut(BaseModel):
    prompt_id: str
    text: str
    answer: str


class TokensOut(BaseModel):
    user: UserOut
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(examples=[1800])


class PhotoOut(BaseModel):
    id: str
    url: str
    thumb_url: str
    position: int
    width: int
    height: int


class PhotosOut(BaseModel):
    photos: list[PhotoOut]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, Literal["ok", "error"]]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


UserOut.model_rebuild()
