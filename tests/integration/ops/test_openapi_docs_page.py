"""GET /docs: the OpenAPI document as a page a person reads, operation by operation (method,
path, summary, parameters, body fields, every status with its error codes) and the webhooks,
within the service's CSP and with nothing fetched from another origin."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from test_openapi import OPERATIONS, packaged_document

SECTION = re.compile(r'<section class="op" id="([^"]+)">(.*?)</section>', re.S)


def page_text(fragment: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def sections(client: Any) -> dict[str, str]:
    response = client.get("/docs")
    assert response.status_code == 200
    return {anchor: page_text(body) for anchor, body in
            SECTION.findall(response.get_data(as_text=True))}


def prose(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def described(section: str, op: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """What an operation's section must show, less what it shows."""
    wanted = [prose(op.get("summary", ""))]
    wanted += [p["name"] for p in op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {})
    schema = body.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        wanted += list(document["components"]["schemas"][name].get("properties", {}))
    wanted += list(body)
    for status, response in op["responses"].items():
        wanted.append(status)
        wanted += response.get("x-error-codes", [])
    return [w for w in wanted if w not in section]


def test_docs_is_a_plain_page_under_the_csp_with_nothing_from_elsewhere(client: Any) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and " style=" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "a resource elsewhere"
    assert "/static/docs.css" in page


def test_every_operation_is_shown_with_its_parameters_body_and_error_codes(client: Any) -> None:
    document, shown = packaged_document(), sections(client)
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in OPERATIONS:
                continue
            section = shown.pop(op["operationId"])
            assert section.startswith(f"{method.upper()} {path} "), section[:80]
            parameters = [*item.get("parameters", []), *op.get("parameters", [])]
            missing = described(section, {**op, "parameters": parameters}, document)
            assert not missing, f"{method.upper()} {path} does not show {missing}"
    assert set(shown) == {f"webhook-{name}" for name in document["webhooks"]}


@pytest.mark.parametrize("event", ["connection.connected", "connection.revoked"])
def test_each_webhook_is_shown_with_its_headers_body_and_how_to_verify(
    client: Any, event: str
) -> None:
    section = sections(client)[f"webhook-{event}"]
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "type", "timestamp",
                 "data.connection_id", "data.email", "data.reason"):
        assert name in section, name
    assert "HMAC-SHA256" in section and "whsec_" in section
    assert "{webhook-id}.{webhook-timestamp}.{body}" in section


def test_docs_stays_out_of_the_document_like_the_other_non_api_pages() -> None:
    assert not {"/docs", "/openapi.json", "/metrics"} & set(packaged_document()["paths"])


def test_a_query_parameter_on_docs_is_a_400(client: Any) -> None:
    assert client.get("/docs?x=1").status_code == 400
