"""The OpenAPI document and the code agree, operation by operation: every (status, error code) a
route declares it may answer (its ``@declare``, which the error handler enforces) is documented,
and the document lists nothing the route cannot answer; likewise its query parameters and the
fields and types of its JSON body."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from gmail_oneclick.entrypoints.web.declare import Declared

WEB = "gmail_oneclick.entrypoints.web"

METHODS = ("get", "post", "put", "patch", "delete")


def document() -> dict[str, Any]:
    text = resources.files(WEB).joinpath("openapi.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        # OpenAPI 3.1: a description beside a $ref overrides the referenced one.
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def documented_answers(doc: dict[str, Any], operation: dict[str, Any]) -> set[tuple[int, Any]]:
    """(status, code) for each code a response's description lists after "Codes:", or
    (status, None) for a response that lists none."""
    found: set[tuple[int, Any]] = set()
    for status, response in operation["responses"].items():
        description = resolve(doc, response)["description"]
        codes = re.findall(r"`([a-z_]+)`", description.split("Codes:", 1)[1]) \
            if "Codes:" in description else []
        found |= {(int(status), code) for code in codes} or {(int(status), None)}
    return found


def operations(app: Any) -> list[tuple[str, str, dict[str, Any], Declared | None]]:
    """(METHOD, path, documented operation, the route's declaration) for every documented
    operation; the declaration is None when the app routes it without one."""
    doc = document()
    adapter = app.url_map.bind("localhost")
    found = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            endpoint, _ = adapter.match(path.replace("{id}", "conn_x"), method=method.upper())
            view = app.view_functions[endpoint]
            found.append((method.upper(), path, item[method],
                          getattr(view, "declared_route", None)))
    return found


def test_every_documented_operation_declares_its_answers(app: Any) -> None:
    undeclared = [f"{m} {p}" for m, p, _, d in operations(app) if d is None or d.errors is None]
    assert not undeclared


def test_every_status_and_code_a_route_declares_is_documented_and_no_other(app: Any) -> None:
    doc = document()
    mismatches = []
    for method, path, operation, declared in operations(app):
        assert declared is not None
        code_side, doc_side = declared.answers(), documented_answers(doc, operation)
        if code_side != doc_side:
            extra, missing = code_side - doc_side, doc_side - code_side
            mismatches.append(f"{method} {path}: undocumented {sorted(extra, key=str)}, "
                              f"documented but never answered {sorted(missing, key=str)}")
    assert not mismatches, "\n".join(mismatches)


def test_every_route_honours_exactly_its_documented_query_parameters(app: Any) -> None:
    doc = document()
    for method, path, operation, declared in operations(app):
        assert declared is not None
        parameters = [resolve(doc, p) for p in operation.get("parameters", [])]
        documented = {p["name"] for p in parameters if p["in"] == "query"}
        assert declared.query == documented, f"{method} {path}"


def json_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = resolve(doc, operation.get("requestBody", {"content": {}}))["content"]
    if "application/json" not in content:
        return None
    return resolve(doc, content["application/json"]["schema"])


def test_every_json_field_is_checked_as_the_document_types_it(app: Any) -> None:
    doc = document()
    for method, path, operation, declared in operations(app):
        assert declared is not None
        schema = json_schema(doc, operation)
        where = f"{method} {path}"
        if schema is None:
            assert declared.body is None, where
            continue
        assert declared.body is not None, where
        properties = schema["properties"]
        assert set(declared.body) == set(properties), where
        assert {n for n, f in declared.body.items() if f.required} == set(schema["required"])
        assert (schema.get("additionalProperties", True) is not False) == declared.open_ended, \
            where
        for name, field in declared.body.items():
            types = properties[name]["type"]
            types = types if isinstance(types, list) else [types]
            assert field.nullable == ("null" in types), f"{where} {name}"
            assert field.kind in types, f"{where} {name}"
            if field.kind == "array":
                assert properties[name]["items"]["type"] == "string", f"{where} {name}"
                assert field.max_items == properties[name]["maxItems"], f"{where} {name}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422, 429, 503])
def test_a_shared_error_response_names_its_codes(status: int) -> None:
    """Each E/P response component lists its codes, so that an operation's list can be read."""
    doc = document()
    for prefix in ("E", "P"):
        component = doc["components"]["responses"].get(f"{prefix}{status}")
        if component is not None:
            assert "Codes:" in component["description"]
