"""Request bodies of the REST surface (responses are wire shapes of ``domain/wire``; both generate OpenAPI)."""

from __future__ import annotations

from datetime import date

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


class TokenIn(Strict):
    token: str = Field(max_length=200, description="the token from the verification mail's link (`#token=…`)")


class EmailIn(Strict):
    email: str = Field(max_length=254, examples=["ada@example.com"])


class ResetIn(Strict):
    token: str = Field(max_length=200, description="the token from the reset mail's link (`#token=…`)")
    password: str = Field(description="the new password: 8 to 128 characters, as at signup")


class ChangePasswordIn(Strict):
    current_password: str = Field(max_length=1000)
    new_password: str = Field(description="8 to 128 characters, as at signup")
