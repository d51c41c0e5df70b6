"""GET /openapi.json: a valid OpenAPI 3.1 document that says exactly what the app serves."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema_rs
import pytest
import schemathesis

WEB = "gmail_oneclick.entrypoints.web"
DOCUMENTED_PREFIXES = ("/v1/", "/wp-json/")
OPERATIONS = {"get", "put", "post", "delete", "patch"}


def packaged_document() -> dict[str, Any]:
    text = resources.files(WEB).joinpath("openapi.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def normalised(path: str) -> str:
    """Flask's ``<connection_id>`` and OpenAPI's ``{id}`` name the same path segment."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def app_routes(app: Any) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(DOCUMENTED_PREFIXES):
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            routes.setdefault(normalised(rule.rule), set()).update(methods)
    return routes


def documented_routes(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        normalised(path): {m for m in item if m in OPERATIONS}
        for path, item in document["paths"].items()
        if path.startswith(DOCUMENTED_PREFIXES)
    }


def test_openapi_json_serves_the_packaged_document(client: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == packaged_document()


def test_document_is_valid_openapi_3_1() -> None:
    document = packaged_document()
    assert document["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(document).validate()  # the OpenAPI 3.1 meta-schema
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_api_route_is_documented_with_the_same_methods_and_vice_versa(app: Any) -> None:
    served, documented = app_routes(app), documented_routes(packaged_document())
    undocumented = {p: m for p, m in served.items() if documented.get(p) != m}
    unserved = {p: m for p, m in documented.items() if served.get(p) != m}
    assert served == documented, f"served: {undocumented}; documented: {unserved}"


def test_documented_operational_paths_are_served(app: Any) -> None:
    served = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    for path, item in packaged_document()["paths"].items():
        if not path.startswith(DOCUMENTED_PREFIXES):
            assert path in served, path
            assert {m.upper() for m in item if m in OPERATIONS} <= set(served[path]), path


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items()
            for method, op in item.items() if method in OPERATIONS]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.mark.parametrize(("path", "method"), [
    (p, m) for p, m, _ in operations(packaged_document()) if p.startswith(DOCUMENTED_PREFIXES)
])
def test_every_api_error_response_uses_the_error_shape_and_429_503_carry_retry_after(
    path: str, method: str
) -> None:
    document = packaged_document()
    expected = "PostSmtpError" if path.startswith("/wp-json/") else "Error"
    op = document["paths"][path][method]
    for status, response in op["responses"].items():
        if int(status) < 400:
            continue
        response = resolve(document, response)
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{expected}"}, (path, method, status)
        if status in {"429", "503"}:
            assert "Retry-After" in response.get("headers", {}), (path, method, status)
    if (path, method) not in PUBLIC_OPERATIONS:
        assert "401" in op["responses"], "every API operation needs its bearer key"


# Open registration is how a site gets its key: the one API operation without one.
PUBLIC_OPERATIONS = {("/v1/sites", "post")}


def test_api_operations_require_the_bearer_key_and_health_checks_do_not() -> None:
    document = packaged_document()
    assert document["components"]["securitySchemes"]["bearer"] == {
        **document["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer",
    }
    assert document["security"] == [{"bearer": []}]
    for path, method, op in operations(document):
        if path.startswith(DOCUMENTED_PREFIXES) and (path, method) not in PUBLIC_OPERATIONS:
            assert "security" not in op, path
        else:
            assert op["security"] == [], path


def test_messages_accepts_json_and_a_raw_rfc822_body() -> None:
    content = packaged_document()["paths"]["/v1/messages"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "message/rfc822"}
