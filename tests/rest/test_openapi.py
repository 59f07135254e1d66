"""CONTRACT section 1: GET /v1/openapi.json (OpenAPI 3.1 of the REST surface) and GET /v1/docs."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.support.documents import get_document as fetch_document
from tests.support.documents import refs, resolve

# (method, path, success status) of every REST row of the contract
CONTRACT_ROWS = [
    ("get", "/v1/health", "200"),
    ("post", "/v1/auth/signup", "201"),
    ("post", "/v1/auth/login", "200"),
    ("post", "/v1/auth/refresh", "200"),
    ("post", "/v1/auth/logout", "204"),
    ("get", "/v1/profile/photos", "200"),
    ("post", "/v1/profile/photos", "201"),
    ("delete", "/v1/profile/photos/{photo_id}", "204"),
    ("post", "/v1/auth/email/verify", "200"),
    ("post", "/v1/auth/email/resend", "202"),
    ("post", "/v1/auth/password/forgot", "202"),
    ("post", "/v1/auth/password/reset", "200"),
    ("post", "/v1/auth/password/change", "200"),
    ("get", "/v1/account/export", "200"),
]
AUTHENTICATED = {("get", "/v1/profile/photos"), ("post", "/v1/profile/photos"),
                 ("delete", "/v1/profile/photos/{photo_id}"), ("post", "/v1/auth/email/resend"),
                 ("post", "/v1/auth/password/change"), ("get", "/v1/account/export")}


async def get_document(http: httpx.AsyncClient) -> dict[str, Any]:
    return await fetch_document(http, "/v1/openapi.json")


async def test_document_is_openapi_3_1_with_every_contract_operation(http: httpx.AsyncClient) -> None:
    """The document is OpenAPI 3.1 and lists every contract REST operation with its success status."""
    doc = await get_document(http)
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    for method, path, success in CONTRACT_ROWS:
        assert path in doc["paths"], path
        assert method in doc["paths"][path], (method, path)
        assert success in doc["paths"][path][method]["responses"], (method, path, success)


async def test_document_version_is_the_running_version(http: httpx.AsyncClient) -> None:
    """The document's info.version is the version /v1/health reports."""
    doc = await get_document(http)
    assert doc["info"]["version"] == (await http.get("/v1/health")).json()["version"]


async def test_every_ref_resolves_to_a_component_schema(http: httpx.AsyncClient) -> None:
    """Every $ref in the document points at a schema that exists under components.schemas."""
    doc = await get_document(http)
    found = set(refs(doc))
    assert found, "no $ref at all: the operations describe no bodies"
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        schema = resolve(doc, ref)
        assert isinstance(schema, dict) and schema, ref


async def test_schemas_match_the_contract_shapes(http: httpx.AsyncClient) -> None:
    """Photo, photo list, health and token bodies are documented with the contract's fields."""
    doc = await get_document(http)

    def success_schema(method: str, path: str, status: str) -> dict[str, Any]:
        ref = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        schema: dict[str, Any] = resolve(doc, ref)
        return schema

    photo = success_schema("post", "/v1/profile/photos", "201")
    assert set(photo["properties"]) == set(photo["required"]) == {"id", "url", "thumb_url", "position",
                                                                   "width", "height"}
    listing = success_schema("get", "/v1/profile/photos", "200")
    assert set(listing["properties"]) == {"photos"}
    assert resolve(doc, listing["properties"]["photos"]["items"]["$ref"]) == photo
    health = success_schema("get", "/v1/health", "200")
    assert set(health["properties"]) == {"status", "version", "checks"}
    tokens = success_schema("post", "/v1/auth/login", "200")
    assert set(tokens["properties"]) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert success_schema("post", "/v1/auth/signup", "201") == tokens


async def test_error_responses_use_the_error_shape(http: httpx.AsyncClient) -> None:
    """Every documented 4xx/5xx answer is the {"error": {"code", "message", "details"?}} schema."""
    doc = await get_document(http)
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                if int(status) < 400:
                    continue
                schema = resolve(doc, answer["content"]["application/json"]["schema"]["$ref"])
                assert set(schema["properties"]) == {"error"}, (method, path, status)
                body = resolve(doc, schema["properties"]["error"]["$ref"])
                assert {"code", "message"} <= set(body["required"]), (method, path, status)


async def test_photo_upload_documents_its_refusals(http: httpx.AsyncClient) -> None:
    """The upload is documented as multipart field `file` with 401, 409, 413 and 415; delete with 404."""
    doc = await get_document(http)
    upload = doc["paths"]["/v1/profile/photos"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "file" in form["properties"] and "file" in form["required"]
    assert {"401", "409", "413", "415"} <= set(upload["responses"])
    assert {"401", "404"} <= set(doc["paths"]["/v1/profile/photos/{photo_id}"]["delete"]["responses"])


async def test_bearer_auth_is_declared_exactly_where_needed(http: httpx.AsyncClient) -> None:
    """Photo operations declare the bearer scheme; health and the auth endpoints need none."""
    doc = await get_document(http)
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    for method, path, _ in CONTRACT_ROWS:
        security = doc["paths"][path][method].get("security")
        if (method, path) in AUTHENTICATED:
            assert security == [{"bearer": []}], (method, path)
        else:
            assert not security, (method, path)


async def test_every_documented_operation_is_served(http: httpx.AsyncClient) -> None:
    """Calling each documented operation (without credentials) reaches a handler: never 404 or 405."""
    doc = await get_document(http)
    for path, methods in doc["paths"].items():
        concrete = path.replace("{photo_id}", str(uuid.uuid4()))
        for method in methods:
            kwargs: dict[str, Any] = {"json": {}} if method == "post" else {}
            resp = await http.request(method.upper(), concrete, **kwargs)
            assert resp.status_code not in (404, 405), (method, path, resp.status_code)


async def test_docs_page_is_self_contained_html(http: httpx.AsyncClient) -> None:
    """/v1/docs is an HTML page naming every path, under a CSP that allows no outside host."""
    resp = await http.get("/v1/docs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    for _, path, _ in CONTRACT_ROWS:
        assert path in resp.text, path
    csp = resp.headers["content-security-policy"]
    assert "http" not in csp.lower() and "*" not in csp and "//" not in csp, csp
    assert "default-src 'none'" in csp
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", resp.text, re.IGNORECASE)


@pytest.mark.parametrize("path", ["/v1/openapi.json", "/v1/docs"])
async def test_docs_need_no_auth(http: httpx.AsyncClient, path: str) -> None:
    """The docs are public: a garbage bearer token does not change the 200."""
    resp = await http.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 200
