"""The OpenAPI document and the code agree, operation by operation: every (status, error code) a
route declares it may answer (its ``@declare``, which the error handler enforces) is documented,
and the document lists nothing the route cannot answer; likewise its query parameters and the
fields and types of its JSON body."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema_rs

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
    """(status, code) for each code an error response lists in ``x-error-codes``, or
    (status, None) for a response that lists none (a success, readyz's 503)."""
    found: set[tuple[int, Any]] = set()
    for status, response in operation["responses"].items():
        codes = resolve(doc, response).get("x-error-codes", [])
        found |= {(int(status), code) for code in codes} or {(int(status), None)}
    return found


def error_responses(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, status, response) for every 4xx/5xx response the document describes."""
    return [(f"{method.upper()} {path} {status}", status, resolve(doc, response))
            for path, item in doc["paths"].items() for method in METHODS if method in item
            for status, response in item[method]["responses"].items() if int(status) >= 400]


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


def test_every_error_response_shows_a_real_body_for_each_of_its_codes() -> None:
    """One example per listed code, named for it, in the response's own schema: what a client
    that switches on ``code`` needs to see."""
    doc = document()
    for where, status, response in error_responses(doc):
        codes = response.get("x-error-codes")
        if codes is None:
            assert status == "503", f"{where}: an error response without x-error-codes"
            continue
        assert codes and len(set(codes)) == len(codes), where
        content = response["content"]["application/json"]
        assert list(content["examples"]) == codes, where
        validator = jsonschema_rs.validator_for({**content["schema"],
                                                 "components": doc["components"]})
        for code, example in content["examples"].items():
            body = example["value"]
            validator.validate(body)
            assert (body["error"] if isinstance(body["error"], dict) else body)["code"] == code
            assert example["summary"], where


def test_no_description_lists_codes_beside_x_error_codes() -> None:
    """One list of codes per response: prose that names them again would drift."""
    for where, _, response in error_responses(document()):
        assert "Codes:" not in response["description"], where
