"""POST/GET /v1/connections: what the WordPress plugin sees (README, API)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import RegisteredSite, register_site
from tests.integration.consent.conftest import RETURN_URL, Browser, query_of


def error_code(response: Any) -> str:
    code: str = response.get_json()["error"]["code"]
    return code


def test_a_connect_link_is_a_public_url_that_expires_after_the_connect_ttl(
    client: Any, site: RegisteredSite, container: Any
) -> None:
    response = client.post("/v1/connections", json={"return_url": RETURN_URL}, headers=site.auth)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"connect_url", "expires_at"}
    assert body["connect_url"].startswith("http://127.0.0.1:8000/connect/")
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    expected = container.clock.now() + timedelta(seconds=container.settings.connect_ttl)
    assert abs((expires - expected).total_seconds()) < 5


@pytest.mark.parametrize(
    "return_url",
    [
        "https://evil.example.com/wp-admin/",
        "http://blog.example.com/wp-admin/",  # other scheme
        "https://blog.example.com:8443/wp-admin/",  # other port
        "https://blog.example.com.evil.com/",
        "https://user@blog.example.com/",
        "//blog.example.com/wp-admin/",
        "/wp-admin/",
        "javascript:alert(1)",
        "https://blog.example.com\\@evil.com/",
        "https://blog.example.com/ wp-admin",
        "https://blog.example.com/" + "a" * 2100,
        "",
        42,
        None,
        ["https://blog.example.com/"],
    ],
)
def test_a_return_url_off_the_sites_origins_is_invalid_request(
    client: Any, site: RegisteredSite, return_url: Any
) -> None:
    response = client.post("/v1/connections", json={"return_url": return_url}, headers=site.auth)
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


def test_the_default_port_is_the_same_origin(client: Any, site: RegisteredSite) -> None:
    response = client.post(
        "/v1/connections", json={"return_url": "https://BLOG.example.com:443/x"}, headers=site.auth
    )
    assert response.status_code == 201


@pytest.mark.parametrize("hint", ["not-an-email", "a@b", "alice@example.com\r\nX: y", 7, {}])
def test_a_login_hint_that_is_not_an_email_is_invalid_request(
    client: Any, site: RegisteredSite, hint: Any
) -> None:
    response = client.post(
        "/v1/connections", json={"return_url": RETURN_URL, "login_hint": hint}, headers=site.auth
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "{not json", "content_type": "application/json"},
        {"data": '{"return_url": "' + RETURN_URL + '"}', "content_type": "text/plain"},
        {"data": "return_url=" + RETURN_URL, "content_type": "application/x-www-form-urlencoded"},
        {"json": [RETURN_URL]},
        {"json": {}},
        {"json": {"return_url": RETURN_URL, "extra": True}},
        {},
    ],
)
def test_a_malformed_body_is_invalid_request_never_a_500(
    client: Any, site: RegisteredSite, kwargs: dict[str, Any]
) -> None:
    response = client.post("/v1/connections", headers=site.auth, **kwargs)
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/connections"), ("get", "/v1/connections"), ("get", "/v1/connections/conn_x")],
)
def test_every_endpoint_needs_the_sites_api_key(client: Any, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"return_url": RETURN_URL},
                                       headers={"Authorization": "Bearer goc_wrong"})
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


def test_a_site_cannot_see_another_sites_connection(
    browser: Browser, site: RegisteredSite, container: Any
) -> None:
    cid = query_of(browser.connect(site, "alice@example.com").headers["Location"])
    cid = cid["connection_id"][0]
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    response = browser.client.get(f"/v1/connections/{cid}", headers=shop.auth)
    assert response.status_code == 404 and error_code(response) == "not_found"
    listed = browser.client.get("/v1/connections", headers=shop.auth).get_json()
    assert listed == {"connections": []}
    missing = browser.client.get("/v1/connections/conn_nope", headers=site.auth)
    assert missing.status_code == 404
