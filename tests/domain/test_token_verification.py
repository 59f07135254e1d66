"""The HMAC tokens are verified without PyJWT on the hot path: both ways refuse and accept the same tokens.

``tokens.decode`` checks HS256/HS384/HS512 tokens with the standard library (every socket connect verifies
one); PyJWT, the reference, still verifies the other algorithms. Each case below is decoded both ways (the
reference by hiding ``tokens.HMAC_DIGESTS``, so ``decode`` falls back to PyJWT) and must give the same
claims or the same refusal. Random damage to a genuine token must never be accepted by the fast way unless
PyJWT accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.auth import tokens
from domain.errors import Unauthorized

KEY = "k" * 64  # PyJWT warns below 64 bytes for HS512
HS256 = tokens.TokenConfig(secret=KEY)
HS512 = tokens.TokenConfig(secret=KEY, algorithm="HS512")
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(value: Any) -> str:
    return _b64(json.dumps(value).encode())


def sign(header: Any, payload: Any, *, key: str = KEY, alg: str = "HS256") -> str:
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    mac = hmac.new(key.encode(), signing_input.encode(), DIGESTS[alg]).digest()
    return f"{signing_input}.{_b64(mac)}"


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": str(uuid.uuid4()), "type": "access", "jti": str(uuid.uuid4()),
                            "fam": str(uuid.uuid4()), "iat": now, "exp": now + 1800}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
HEADER = {"alg": "HS256", "typ": "JWT"}


def outcome(config: tokens.TokenConfig, token: str, expected: tokens.TokenType = "access", *,
            verify_exp: bool = True) -> object:
    try:
        return tokens.decode(config, token, expected, verify_exp=verify_exp)
    except Unauthorized as exc:
        return f"refused: {exc}"


def reference(monkeypatch: pytest.MonkeyPatch, config: tokens.TokenConfig, token: str,
              expected: tokens.TokenType = "access", *, verify_exp: bool = True) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(tokens, "HMAC_DIGESTS", {})
        return outcome(config, token, expected, verify_exp=verify_exp)


def _with_signature(token: str, signature: str) -> str:
    return token.rsplit(".", 1)[0] + "." + signature


def _raw(header: bytes, payload: bytes) -> str:
    """A token of raw (possibly broken) segments, correctly signed with our key."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    return f"{signing_input}.{_b64(hmac.new(KEY.encode(), signing_input.encode(), hashlib.sha256).digest())}"


now = int(time.time())
CASES: dict[str, Callable[[], str]] = {
    "genuine": lambda: sign(HEADER, claims()),
    "genuine without typ": lambda: sign({"alg": "HS256"}, claims()),
    "issued by PyJWT": lambda: tokens.issue(HS256, "access", uuid.uuid4(), uuid.uuid4())[0],
    "refresh token as access": lambda: tokens.issue(HS256, "refresh", uuid.uuid4(), uuid.uuid4())[0],
    "expired": lambda: sign(HEADER, claims(iat=now - 3600, exp=now - 60)),
    "exp as a digit string": lambda: sign(HEADER, claims(exp=str(now + 600))),
    "exp not a number": lambda: sign(HEADER, claims(exp="soon")),
    "exp a float": lambda: sign(HEADER, claims(exp=now + 600.5)),
    "iat 10 s ahead (clock skew)": lambda: sign(HEADER, claims(iat=now + 10)),
    "iat an hour ahead": lambda: sign(HEADER, claims(iat=now + 3600, exp=now + 5400)),
    "iat not a number": lambda: sign(HEADER, claims(iat="then")),
    "nbf ahead": lambda: sign(HEADER, claims(nbf=now + 600)),
    "nbf behind": lambda: sign(HEADER, claims(nbf=now - 600)),
    "nbf not a number": lambda: sign(HEADER, claims(nbf="x")),
    "aud present": lambda: sign(HEADER, claims(aud="someone")),
    "aud empty": lambda: sign(HEADER, claims(aud="")),
    "sub a number": lambda: sign(HEADER, claims(sub=12)),
    "sub not a uuid": lambda: sign(HEADER, claims(sub="ada")),
    "jti a number": lambda: sign(HEADER, claims(jti=12)),
    "type null": lambda: sign(HEADER, claims(type=None)),
    "no fam": lambda: sign(HEADER, claims(fam=_DROP)),
    "no exp": lambda: sign(HEADER, claims(exp=_DROP)),
    "no iat": lambda: sign(HEADER, claims(iat=_DROP)),
    "alg none": lambda: f"{_segment({'alg': 'none'})}.{_segment(claims())}.",
    "alg HS512 with our key": lambda: sign({"alg": "HS512", "typ": "JWT"}, claims(), alg="HS512"),
    "alg missing": lambda: sign({"typ": "JWT"}, claims()),
    "kid header": lambda: sign({**HEADER, "kid": "../../dev/null"}, claims()),
    "b64 false": lambda: sign({**HEADER, "b64": False, "crit": ["b64"]}, claims()),
    "another key": lambda: sign(HEADER, claims(), key="another-key-of-an-attacker-0123456789"),
    "empty signature": lambda: _with_signature(sign(HEADER, claims()), ""),
    "truncated signature": lambda: sign(HEADER, claims())[:-2],
    "padded signature": lambda: sign(HEADER, claims()) + "=",
    "header a list": lambda: sign(["HS256"], claims()),
    "payload a list": lambda: sign(HEADER, [1, 2]),
    "payload not json": lambda: _raw(json.dumps(HEADER).encode(), b"{not json"),
    "payload not utf-8": lambda: _raw(json.dumps(HEADER).encode(), b'{"sub": "\xff"}'),
    "header not json": lambda: _raw(b"alg=HS256", json.dumps(claims()).encode()),
    "two segments": lambda: sign(HEADER, claims()).rsplit(".", 1)[0],
    "four segments": lambda: sign(HEADER, claims()) + ".x",
    "empty": lambda: "",
    "dots": lambda: "..",
    "non-ascii": lambda: sign(HEADER, claims()) + "é",
    "whitespace": lambda: " " + sign(HEADER, claims()),
}


# PyJWT decodes base64 leniently ("=" padding, "+" for "-"); JWTs carry unpadded base64url and we issue nothing
# else, so the fast way refuses these spellings of a genuine token
STRICTER = {"padded signature"}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("verify_exp", [True, False])
def test_the_fast_way_and_pyjwt_agree(monkeypatch: pytest.MonkeyPatch, case: str, verify_exp: bool) -> None:
    token = CASES[case]()
    fast = outcome(HS256, token, verify_exp=verify_exp)
    if case not in STRICTER:
        assert fast == reference(monkeypatch, HS256, token, verify_exp=verify_exp)
    if case in ("genuine", "genuine without typ", "issued by PyJWT", "iat 10 s ahead (clock skew)", "nbf behind",
                "aud empty", "exp as a digit string", "exp a float") or (case == "expired" and not verify_exp):
        assert isinstance(fast, tokens.Claims), fast
    else:
        assert isinstance(fast, str) and fast.startswith("refused"), f"{case} was accepted"


def test_an_expired_token_says_so() -> None:
    """The client is told to refresh (``token expired``), not that its token is bad."""
    assert outcome(HS256, CASES["expired"]()) == "refused: token expired"


def test_hs512_is_verified_the_fast_way_too(monkeypatch: pytest.MonkeyPatch) -> None:
    token = tokens.issue(HS512, "access", uuid.uuid4(), uuid.uuid4())[0]
    fast = outcome(HS512, token)
    assert isinstance(fast, tokens.Claims) and fast == reference(monkeypatch, HS512, token)
    assert outcome(HS256, token) == "refused: invalid token"  # the algorithm is pinned by configuration
    assert outcome(HS512, sign(HEADER, claims())) == "refused: invalid token"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_tokens_are_never_accepted_where_pyjwt_refuses(data: st.DataObject) -> None:
    """Random edits of a genuine token: the fast way is at least as strict as PyJWT, and agrees on the claims."""
    genuine = tokens.issue(HS256, "access", uuid.UUID(int=7), uuid.UUID(int=9))[0]
    at = data.draw(st.integers(0, len(genuine) - 1))
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    char = data.draw(st.sampled_from("AZaz09-_.=+/ é"))
    token = {"replace": genuine[:at] + char + genuine[at + 1:], "delete": genuine[:at] + genuine[at + 1:],
             "insert": genuine[:at] + char + genuine[at:]}[edit]
    fast = outcome(HS256, token)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "HMAC_DIGESTS", {})
        slow = outcome(HS256, token)
    if isinstance(fast, tokens.Claims):
        assert fast == slow


def test_a_signature_spelt_differently_in_the_unused_bits_is_refused() -> None:
    """An HS256 signature is 43 base64url characters; the last one carries 4 bits and 2 unused ones. Flipping an
    unused bit decodes to the same bytes, yet it is not the signature's spelling: PyJWT refuses it, so must we."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    genuine = tokens.issue(HS256, "access", uuid.UUID(int=7), uuid.UUID(int=9))[0]
    last = alphabet.index(genuine[-1])
    respelt = genuine[:-1] + alphabet[last ^ 1]
    assert isinstance(outcome(HS256, genuine), tokens.Claims)
    assert outcome(HS256, respelt) == "refused: invalid token"
