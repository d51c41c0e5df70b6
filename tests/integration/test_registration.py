"""POST /v1/sites: closed by default; when open, rate limited and as strict as `sites add`."""

from __future__ import annotations

from typing import Any

import pytest

from gmail_oneclick.settings import Settings


@pytest.fixture
def open_app(settings: Settings) -> Any:
    from gmail_oneclick.web import EXTENSION, create_app

    app = create_app(settings.replace(registration="open", registration_per_hour=3))
    yield app
    app.extensions[EXTENSION].engine.dispose()


def register(client: Any, ip: str = "203.0.113.7", **body: Any) -> Any:
    body = body or {"name": "Blog", "origin": "https://blog.example.com"}
    return client.post("/v1/sites", json=body, environ_base={"REMOTE_ADDR": ip})


def test_registration_is_closed_by_default(client: Any) -> None:
    response = register(client)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_an_open_registration_returns_a_working_key(open_app: Any) -> None:
    client = open_app.test_client()
    response = register(client)
    assert response.status_code == 201
    key = response.get_json()["api_key"]
    listed = client.get("/v1/connections", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200 and listed.get_json() == {"connections": []}


def test_registrations_past_the_allowance_are_rate_limited(open_app: Any) -> None:
    client = open_app.test_client()
    assert [register(client).status_code for _ in range(3)] == [201, 201, 201]
    limited = register(client)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    # Another client address still has its own allowance.
    assert register(client, ip="198.51.100.9").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Blog", "origin": "http://blog.example.com"},
        {"name": "Blog"},
        {"name": "", "origin": "https://blog.example.com"},
        {"name": "Blog", "origins": []},
        {"name": "Blog", "origin": "https://blog.example.com", "webhook_url": "http://x.example"},
        {"name": "Blog", "origin": "https://blog.example.com", "admin": True},
        {"name": 5, "origin": "https://blog.example.com"},
    ],
)
def test_bad_registrations_are_invalid_request_and_write_nothing(
    open_app: Any, body: dict[str, Any]
) -> None:
    from gmail_oneclick.web import EXTENSION

    response = register(open_app.test_client(), **body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    with open_app.extensions[EXTENSION].uow() as uow:
        assert uow.sites.list() == []
