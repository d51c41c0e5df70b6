"""Open registration cannot phish: a self-registered site is pending, gets no connect link and
sends nothing until it serves its verification token at
<origin>/.well-known/gmail-oneclick/<site_id> on every origin it registered."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from gmail_oneclick.settings import Settings
from tests.live import served


@dataclass
class Origin:
    """A site's web server on 127.0.0.1: ``pages`` maps a path to (status, body, headers)."""

    url: str = ""
    pages: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def app(self, environ: Any, start_response: Any) -> Any:
        path = Request(environ).path
        self.requested.append(path)
        status, body, headers = self.pages.get(path, (404, b"not found", {}))
        return Response(body, status=status, headers=headers)(environ, start_response)

    def serve(self, site: dict[str, Any], body: bytes | None = None, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        token = site["verification_token"].encode()
        path = "/.well-known/gmail-oneclick/" + site["site_id"]
        self.pages[path] = (status, token + b"\n" if body is None else body, headers or {})


@pytest.fixture
def origin() -> Iterator[Origin]:
    server_origin = Origin()
    with served(server_origin.app) as url:
        server_origin.url = url
        yield server_origin


def _open_app(settings: Settings, **changes: Any) -> Any:
    from gmail_oneclick.entrypoints.web import create_app

    app = create_app(settings.replace(registration="open", **changes))
    app.config["TESTING"] = True  # an answer the route does not declare fails the test
    return app


@pytest.fixture
def open_client(settings: Settings) -> Iterator[Any]:
    """Open registration whose origins may be on loopback (the tests' origin server)."""
    from gmail_oneclick.entrypoints.web import EXTENSION

    app = _open_app(settings, webhook_private_targets="allow")
    yield app.test_client()
    app.extensions[EXTENSION].engine.dispose()


def register(client: Any, origin: str) -> dict[str, Any]:
    response = client.post("/v1/sites", json={"name": "Blog", "origin": origin},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def auth(site: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {site['api_key']}"}


def verify(client: Any, site: dict[str, Any]) -> Any:
    return client.post(f"/v1/sites/{site['site_id']}/verify", headers=auth(site))


def connect(client: Any, site: dict[str, Any], origin: str) -> Any:
    return client.post("/v1/connections", json={"return_url": origin + "/wp-admin/"},
                       headers=auth(site))


def test_a_registered_site_is_pending_and_told_where_to_serve_its_token(
    open_client: Any, origin: Origin
) -> None:
    site = register(open_client, origin.url)
    assert site["verified"] is False
    assert len(site["verification_token"]) >= 43
    assert site["verification_urls"] == [
        f"{origin.url}/.well-known/gmail-oneclick/{site['site_id']}"]
    listed = open_client.get("/v1/connections", headers=auth(site))
    assert listed.status_code == 200 and listed.get_json() == {"connections": []}


def test_a_pending_site_gets_no_connect_link(open_client: Any, origin: Origin) -> None:
    site = register(open_client, origin.url)
    response = connect(open_client, site, origin.url)
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "site_unverified"
    assert f"/.well-known/gmail-oneclick/{site['site_id']}" in error["message"]
    assert f"POST /v1/sites/{site['site_id']}/verify" in error["message"]


@pytest.mark.parametrize("route", ["/v1/messages", "/wp-json/gmail-oauth/v1/send-email"])
def test_a_pending_site_cannot_send(open_client: Any, origin: Origin, route: str) -> None:
    site = register(open_client, origin.url)
    raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    body = ({"raw": base64.urlsafe_b64encode(raw).decode()} if route == "/v1/messages"
            else {"message": base64.b64encode(raw).decode()})
    response = open_client.post(route, json=body, headers=auth(site))
    assert response.status_code == 403
    assert "site_unverified" in response.get_data(as_text=True)


def test_serving_the_token_verifies_the_site_and_unlocks_connect_links(
    open_client: Any, origin: Origin
) -> None:
    site = register(open_client, origin.url)
    origin.serve(site)

    response = verify(open_client, site)

    assert response.status_code == 200
    assert response.get_json()["verified"] is True
    assert response.get_json()["verified_at"].endswith("Z")
    assert connect(open_client, site, origin.url).status_code == 201
    assert verify(open_client, site).status_code == 200  # idempotent, fetches nothing more
    assert len(origin.requested) == 1


@pytest.mark.parametrize("answer", [
    {"status": 404, "body": b"not found"},
    {"status": 200, "body": b"some other token"},
    {"status": 200, "body": b"TOKEN" + b" " * 2000},  # the token, but inside a larger body
    {"status": 302, "body": b"", "headers": {"Location": "/token"}},
    {"status": 500, "body": b"TOKEN"},
])
def test_anything_but_the_token_leaves_the_site_pending(
    open_client: Any, origin: Origin, answer: dict[str, Any]
) -> None:
    site = register(open_client, origin.url)
    token = site["verification_token"].encode()
    origin.pages["/token"] = (200, token, {})  # where the redirect points: not followed
    origin.serve(site, body=answer["body"].replace(b"TOKEN", token), status=answer["status"],
                 headers=answer.get("headers"))

    response = verify(open_client, site)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "site_verification_failed"
    assert site["verification_token"] not in response.get_data(as_text=True)
    assert "/token" not in origin.requested
    assert connect(open_client, site, origin.url).status_code == 403


def test_every_origin_must_serve_the_token(open_client: Any, origin: Origin) -> None:
    response = open_client.post("/v1/sites", json={
        "name": "Blog", "origins": [origin.url, "https://victim.example.com"]})
    site = response.get_json()
    origin.serve(site)
    # The second origin is not ours to serve from (and no network in tests): refused.
    assert verify(open_client, site).status_code == 409
    assert connect(open_client, site, origin.url).status_code == 403


def test_a_loopback_origin_is_not_fetched_without_the_private_targets_setting(
    settings: Settings, origin: Origin
) -> None:
    from gmail_oneclick.entrypoints.web import EXTENSION

    app = _open_app(settings)
    client = app.test_client()
    site = register(client, origin.url)
    origin.serve(site)
    response = verify(client, site)
    app.extensions[EXTENSION].engine.dispose()
    assert response.status_code == 409
    assert "not a public address" in response.get_json()["error"]["message"]
    assert origin.requested == []


def test_another_sites_id_is_not_found(open_client: Any, origin: Origin) -> None:
    mine, theirs = register(open_client, origin.url), register(open_client, origin.url)
    response = open_client.post(f"/v1/sites/{theirs['site_id']}/verify", headers=auth(mine))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_verification_attempts_are_rate_limited(open_client: Any, origin: Origin) -> None:
    site = register(open_client, origin.url)
    codes = [verify(open_client, site).status_code for _ in range(11)]
    assert codes == [409] * 10 + [429]
    assert len(origin.requested) == 10


def test_sites_the_operator_adds_are_verified_at_creation(client: Any, site: Any) -> None:
    response = client.post("/v1/connections", headers=site.auth,
                           json={"return_url": site.origin + "/wp-admin/"})
    assert response.status_code == 201
    verified = client.post(f"/v1/sites/{site.id}/verify", headers=site.auth)
    assert verified.status_code == 200 and verified.get_json()["verified"] is True


def test_an_origin_trickling_its_answer_is_cut_off_at_the_time_bound() -> None:
    """A server sending one byte at a time never holds a worker past the fetch's bound."""
    from gmail_oneclick.adapters.webhook_http import RequestsOriginFetcher
    from gmail_oneclick.domain.netpolicy import TargetPolicy

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        with contextlib.suppress(OSError):
            while not stop.wait(0.1):
                conn.sendall(b"a")
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    started = time.monotonic()
    answer = RequestsOriginFetcher(TargetPolicy(allow_private=True), seconds=0.5).fetch(
        f"http://127.0.0.1:{listener.getsockname()[1]}/.well-known/gmail-oneclick/site_x")
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(timeout=5)
    listener.close()
    assert answer.status == 0
    assert elapsed < 1.5
