"""The API reference a person reads at /docs, built from the OpenAPI document the service
serves, so the page and /openapi.json cannot say different things."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

OPERATIONS = ("get", "post", "put", "patch", "delete")
_CODE_SPAN = re.compile(r"`([^`]+)`")


def inline(text: str | None) -> Markup:
    """The document's prose with its `code spans` set as <code>; everything else escaped."""
    escaped = str(escape(text or ""))
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", escaped))  # noqa: S704 - escaped above


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str = ""
    where: str = ""  # "query", "path" or "header" for a parameter; "" for a body field


@dataclass(frozen=True)
class Answer:
    status: str
    description: str
    schema: str = ""  # the component the body follows, when it has one
    codes: list[tuple[str, str]] = field(default_factory=list)  # (code, when)
    example: str = ""  # one real body, as JSON text
    headers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str = ""
    public: bool = False  # needs no API key
    parameters: list[Field] = field(default_factory=list)
    media_types: list[str] = field(default_factory=list)
    body: list[Field] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: list[Field]


class Reader:
    """Walks one document, following its local ``$ref``s."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def fields(self, schema: dict[str, Any], prefix: str = "") -> list[Field]:
        """Every property, nested objects' ones named ``outer.inner``."""
        schema = self.resolve(schema)
        required = set(schema.get("required", ()))
        found = []
        for name, prop in schema.get("properties", {}).items():
            prop = self.resolve(prop)
            found.append(Field(prefix + name, type_of(prop), name in required,
                               prop.get("description", "")))
            if "properties" in prop:
                found += self.fields(prop, prefix=f"{prefix}{name}.")
        return found

    def parameter(self, node: dict[str, Any]) -> Field:
        p = self.resolve(node)
        return Field(p["name"], type_of(p.get("schema", {})), bool(p.get("required")),
                     p.get("description", ""), p["in"])

    def answer(self, status: str, node: dict[str, Any]) -> Answer:
        response = self.resolve(node)
        content: dict[str, Any] = next(iter(response.get("content", {}).values()), {})
        schema_ref = content.get("schema", {}).get("$ref", "")
        examples: dict[str, Any] = content.get("examples", {})
        codes = [(c, examples.get(c, {}).get("summary", "")) for c in
                 response.get("x-error-codes", [])]
        first = next((e["value"] for e in examples.values()), content.get("example"))
        return Answer(status, response.get("description", ""), schema_ref.rpartition("/")[2],
                      codes, "" if first is None else json.dumps(first, indent=2),
                      list(response.get("headers", {})))

    def operation(self, anchor: str, method: str, path: str, op: dict[str, Any],
                  shared: list[dict[str, Any]]) -> Operation:
        body = self.resolve(op.get("requestBody", {"content": {}}))["content"]
        as_json = body.get("application/json", {}).get("schema")
        return Operation(
            anchor, method.upper(), path, op.get("summary", ""), op.get("description", ""),
            public=op.get("security") == [],
            parameters=[self.parameter(p) for p in (*shared, *op.get("parameters", []))],
            media_types=list(body), body=self.fields(as_json) if as_json else [],
            answers=[self.answer(s, r) for s, r in op.get("responses", {}).items()])


def type_of(schema: dict[str, Any]) -> str:
    """A short human name for a JSON Schema's type."""
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "$ref" in schema:
        return str(schema["$ref"]).rpartition("/")[2]
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "array" in kinds and "items" in schema:
        kinds = [f"array of {type_of(schema['items'])}" if k == "array" else k for k in kinds]
    return " or ".join(kinds)


def build(document: dict[str, Any]) -> dict[str, Any]:
    """What docs.html renders: the document's info, operations, webhooks and objects."""
    reader = Reader(document)
    operations = [
        reader.operation(op.get("operationId", f"{method}-{path}"), method, path, op,
                         item.get("parameters", []))
        for path, item in document["paths"].items()
        for method, op in item.items() if method in OPERATIONS
    ]
    webhooks = [reader.operation(f"webhook-{name}", "post", name, item["post"], [])
                for name, item in document.get("webhooks", {}).items()]
    schemas = [Schema(name, schema.get("description", ""), reader.fields(schema))
               for name, schema in document["components"]["schemas"].items()]
    return {"info": document["info"], "operations": operations, "webhooks": webhooks,
            "schemas": schemas}
