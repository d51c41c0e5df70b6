"""One strict JSON reader on every JSON route, documented field types checked, and no query
parameter silently ignored: each a 4xx with a stable code, never a 500, never a guess."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RegisteredSite

JSON_ROUTES = ["/v1/connections", "/v1/messages", "/wp-json/gmail-oauth/v1/send-email",
               "/v1/sites"]


def error(response: Any) -> tuple[int, str, str]:
    body = response.get_json()
    if response.request.path.startswith("/wp-json/"):
        return response.status_code, body["code"], body["message"]
    return response.status_code, body["error"]["code"], body["error"]["message"]


def post(client: Any, site: RegisteredSite, path: str, data: bytes, **kw: Any) -> Any:
    return client.post(path, data=data, headers={**site.auth, "Content-Type": "application/json"},
                       **kw)


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400_not_a_500(
    client: Any, site: RegisteredSite, path: str, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    data = (opener * 2000 + "1" + closer * 2000).encode()  # past the interpreter's 1000
    status, code, message = error(post(client, site, path, data))
    assert (status, code) == (400, "invalid_request")
    assert "deeper than 32" in message


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_a_repeated_key_is_refused_naming_it(client: Any, site: RegisteredSite,
                                             path: str) -> None:
    data = b'{"name": "a", "return_url": "x", "raw": "x", "message": "x", "name": "b",' \
           b' "return_url": "y", "raw": "y", "message": "y"}'
    status, code, message = error(post(client, site, path, data))
    assert (status, code) == (400, "invalid_request")
    assert "repeats the key" in message


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("data", [b"[]", b'"raw"', b"42", b"null", b'{"raw": NaN}', b"\xff{}"])
def test_anything_but_one_utf8_json_object_is_refused(
    client: Any, site: RegisteredSite, path: str, data: bytes
) -> None:
    status, code, _ = error(post(client, site, path, data))
    assert (status, code) == (400, "invalid_request")


@pytest.mark.parametrize("field", ["headers", "site_url", "account_key", "gmail_email"])
@pytest.mark.parametrize("value", [42, ["x"], {"a": "b"}, True])
def test_post_smtp_fields_have_the_documented_types(
    client: Any, site: RegisteredSite, field: str, value: Any
) -> None:
    response = client.post("/wp-json/gmail-oauth/v1/send-email", headers=site.auth,
                           json={"message": "RnJvbTogYQ", field: value})
    status, code, message = error(response)
    assert (status, code) == (400, "invalid_request")
    assert f'"{field}" must be a string' in message


def test_an_unknown_field_of_a_send_is_refused(client: Any, site: RegisteredSite) -> None:
    response = client.post("/v1/messages", headers=site.auth,
                           json={"raw": "RnJvbTogYQ", "connectionId": "conn_x"})
    assert error(response)[:2] == (400, "invalid_request")


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/connections"), ("GET", "/v1/connections/conn_x"),
    ("DELETE", "/v1/connections/conn_x"), ("GET", "/v1/connections/conn_x/export"),
    ("POST", "/v1/connections"), ("POST", "/v1/messages"), ("POST", "/v1/sites"),
    ("POST", "/wp-json/gmail-oauth/v1/send-email"), ("GET", "/healthz"), ("GET", "/readyz"),
    ("POST", "/risc"), ("GET", "/metrics"), ("GET", "/openapi.json"),
])
def test_a_query_parameter_no_route_honours_is_a_400(
    client: Any, site: RegisteredSite, method: str, path: str
) -> None:
    response = client.open(path + "?site_id=other", method=method, headers=site.auth)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request" \
        if not path.startswith("/wp-json/") else response.get_json()["code"] == "invalid_request"


def test_connection_id_in_the_query_and_a_different_one_in_the_body_is_refused(
    client: Any, site: RegisteredSite
) -> None:
    response = client.post("/v1/messages?connection_id=conn_a", headers=site.auth,
                           json={"raw": "RnJvbTogYQ", "connection_id": "conn_b"})
    status, code, message = error(response)
    assert (status, code) == (400, "invalid_request")
    assert "differs" in message


def test_connection_id_in_the_query_of_a_json_send_is_honoured(
    client: Any, site: RegisteredSite
) -> None:
    raw = "RnJvbTogYUBleGFtcGxlLmNvbQ0KVG86IGJAZXhhbXBsZS5jb20NCg0KaGk"
    response = client.post("/v1/messages?connection_id=conn_nope", headers=site.auth,
                           json={"raw": raw})
    assert error(response)[:2] == (404, "not_found")  # looked up, not ignored
