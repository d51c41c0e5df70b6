"""POST /v1/sites: closed by default; when open, rate limited and as strict as `sites add`."""

from __future__ import annotations

from typing import Any

import pytest

from gmail_oneclick.settings import Settings


@pytest.fixture
def open_app(settings: Settings) -> Any:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    app = create_app(settings.replace(registration="open", registration_per_hour=3))
    app.config["TESTING"] = True  # an answer the route does not declare fails the test
    yield app
    app.extensions[EXTENSION].engine.dispose()


def register(client: Any, ip: str = "203.0.113.7", **body: Any) -> Any:
    body = body or {"name": "Blog", "origin": "https://blog.example.com"}
    return client.post("/v1/sites", json=body, environ_base={"REMOTE_ADDR": ip})


def test_registration_is_closed_by_default(client: Any) -> None:
    response = register(client)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_an_open_registration_returns_a_working_key_for_a_pending_site(open_app: Any) -> None:
    client = open_app.test_client()
    response = register(client)
    assert response.status_code == 201
    assert response.get_json()["verified"] is False  # tests/integration/test_site_verification.py
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


def test_one_network_is_capped_at_four_allowances(open_app: Any) -> None:
    client = open_app.test_client()
    codes = [register(client, ip=f"203.0.113.{n}").status_code for n in range(1, 6)
             for _ in range(3)]
    assert codes == [201] * 12 + [429] * 3
    assert register(client, ip="203.0.113.200").status_code == 429  # a neighbour: same /24
    assert register(client, ip="203.0.114.1").status_code == 201  # the next /24: unaffected


def test_an_ipv6_host_cannot_escape_its_allowance_by_changing_address(open_app: Any) -> None:
    client = open_app.test_client()
    codes = [register(client, ip=f"2001:db8:1:2::{n:x}").status_code for n in range(1, 5)]
    assert codes == [201, 201, 201, 429]  # one /64 is one client
    assert register(client, ip="2001:db8:9:9::1").status_code == 201


def test_no_one_can_drain_registration_for_everyone_else(open_app: Any) -> None:
    """Busy clients in many networks, more in all than any shared allowance would allow, do
    not stop a newcomer from registering."""
    client = open_app.test_client()
    for network in range(25):
        for _ in range(4):  # the last one is refused: the client's own allowance is spent
            register(client, ip=f"198.18.{network}.1")
    assert register(client, ip="192.0.2.77").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Blog", "origin": "http://blog.example.com"},
        {"name": "Blog"},
        {"name": "", "origin": "https://blog.example.com"},
        {"name": "Blog", "origins": []},
        {"name": "Blog", "origin": "https://blog.example.com", "webhook_url": "http://x.example"},
        {"name": "Blog", "origin": "https://blog.example.com", "webhook_url": "http://127.0.0.1/h"},
        {"name": "Blog", "origin": "https://blog.example.com",
         "webhook_url": "https://[64:ff9b::a00:1]/hook"},
        {"name": "Blog", "origin": "https://blog.example.com", "admin": True},
        {"name": 5, "origin": "https://blog.example.com"},
    ],
)
def test_bad_registrations_are_invalid_request_and_write_nothing(
    open_app: Any, body: dict[str, Any]
) -> None:
    from gmail_oneclick.entrypoints.web import EXTENSION

    response = register(open_app.test_client(), **body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    with open_app.extensions[EXTENSION].uow() as uow:
        assert uow.sites.list() == []
