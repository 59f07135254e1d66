"""Schemathesis over ``/v1/openapi.json`` against a real server: no 5xx, and every response as documented.

Each documented operation is fuzzed twice: with schema-valid data (positive) and with data that breaks the
schema (negative). Every response must be documented for its operation (status code and content type), its
body must match the documented schema (``ErrorEnvelope`` for errors), invalid data must be refused with a 4xx,
authentication must be enforced where it is declared, and the server must log no ERROR. Failures are
collected across all examples of an operation (deduplicated by kind and status), so one run lists them all.

``positive_data_acceptance`` is left out on purpose: the document gives types, not every rule (an email
must look like one, a password needs 8 characters, the file must be a real image), so schema-valid data is
often, and rightly, refused with 409, 415 or 422.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rest.openapi import OPERATIONS
from tests.fuzz.support import ErrorLog, server_errors
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.users import signup

EXAMPLES_PER_OPERATION = 40
CHECKS: list[Callable[..., Any]] = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    response_headers_conformance, negative_data_rejection, ignored_auth,
]
ROWS = [
    pytest.param(op.method.upper(), op.path, mode, id=f"{op.method.upper()} {op.path} {mode.value}")
    for op in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # a GET without parameters, body or auth has nothing that could be made invalid
    if mode is GenerationMode.POSITIVE or op.body is not None or op.multipart or op.auth or "{" in op.path
]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (90, 160, 20)).save(out, "PNG")
    return out.getvalue()


# Requests sent first in the positive run of their operation, whatever Hypothesis draws: edge cases that broke
# the server when this suite was written, and the success paths that random data never reaches.
EXPLICIT: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("POST", "/v1/auth/login"): [
        {"body": {"email": "\u0000@example.com", "password": "whatever password"}, "media_type": "application/json"},
        {"body": {"email": "ada@example.com\u0000", "password": "\u0000" * 8}, "media_type": "application/json"},
    ],
    ("POST", "/v1/auth/signup"): [
        {"body": {"email": "nul\u0000@example.com", "password": "long enough", "display_name": "A\u0000",
                  "birthdate": "1990-01-01"}, "media_type": "application/json"},
    ],
    ("POST", "/v1/auth/refresh"): [{"body": {"refresh_token": "\u0000"}, "media_type": "application/json"}],
    ("POST", "/v1/auth/logout"): [{"body": {"refresh_token": "a.b.c"}, "media_type": "application/json"}],
    ("POST", "/v1/profile/photos"): [
        {"body": {"file": png()}, "media_type": "multipart/form-data"},
        {"body": {"photo": "not the file field"}, "media_type": "multipart/form-data"},
    ],
}


@dataclass
class Api:
    server: RunningServer
    document: dict[str, Any]
    token: str
    photo_id: str


@pytest.fixture(scope="module")
async def api(fuzz_database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[Api]:
    """A server of its own (own Redis prefix, so failed-login counters stay here) and a signed-up user."""
    settings_ = make_settings(fuzz_database_url, redis_url, tmp_root / "media-openapi-fuzz")
    async with run_server(settings_) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            document = (await http.get("/v1/openapi.json")).json()
            token = (await signup(http))["access_token"]
            files = {"file": ("p.png", png(), "image/png")}
            photo = await http.post("/v1/profile/photos", headers={"Authorization": f"Bearer {token}"}, files=files)
            assert photo.status_code == 201, photo.text
        yield Api(server, document, token, photo.json()["id"])


@dataclass
class Outcome:
    examples: int
    statuses: Counter[int]
    failures: dict[str, str]  # distinct failure -> how to reproduce the first one


def fuzz_operation(api: Api, method: str, path: str, mode: GenerationMode, errors: ErrorLog) -> Outcome:
    """Run the examples of one operation (blocking: called in a worker thread while the server serves)."""
    schema = schemathesis.openapi.from_dict(api.document)
    operation = schema[path][method]
    outcome = Outcome(0, Counter(), {})
    headers = {"Authorization": f"Bearer {api.token}"}

    with requests.Session() as session:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: schemathesis.Case[Any]) -> None:
            outcome.examples += 1
            mark = len(errors.records)
            try:
                response = case.call(base_url=api.server.base_url, session=session, headers=headers, timeout=15)
            except requests.RequestException as exc:
                outcome.failures.setdefault(f"request failed: {type(exc).__name__}", case.as_curl_command())
                return
            outcome.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers,
                                       transport_kwargs={"base_url": api.server.base_url, "session": session,
                                                         "headers": headers, "timeout": 15})
            except schemathesis.errors.FailureGroup as group:
                for failure in group.exceptions:
                    first_line = (failure.message.splitlines() or [""])[0][:160]
                    key = f"{failure.title} ({response.status_code}): {first_line}".rstrip(": ")
                    body = response.text[:300].replace("\n", " ")
                    outcome.failures.setdefault(key, f"{case.as_curl_command(headers=headers)}\n      -> {body}")
            for record in errors.since(mark):
                outcome.failures.setdefault("server logged " + ErrorLog.describe(record)[:300],
                                            case.as_curl_command(headers=headers))

        if mode is GenerationMode.POSITIVE:
            explicit = [operation.Case(**kwargs) for kwargs in EXPLICIT.get((method, path), [])]
            if "{photo_id}" in path:
                explicit.append(operation.Case(path_parameters={"photo_id": api.photo_id}))
            for case in reversed(explicit):
                one = example(case=case)(one)
        one()
    return outcome


@pytest.mark.parametrize(("method", "path", "mode"), ROWS)
async def test_generated_requests_get_no_5xx_and_documented_responses(api: Api, method: str, path: str,
                                                                      mode: GenerationMode) -> None:
    """Valid and invalid generated requests never get a 5xx, and each response is the documented status and shape."""
    with server_errors() as errors:
        outcome = await asyncio.to_thread(fuzz_operation, api, method, path, mode, errors)
    statuses = dict(sorted(outcome.statuses.items()))
    print(f"\n{method} {path} {mode.value}: {outcome.examples} requests, statuses {statuses}")
    assert outcome.examples >= 1
    assert not outcome.failures, "\n".join(f"- {k}\n    {v}" for k, v in outcome.failures.items())
