"""DELETE /v1/connections/<id>, its export, and privacy export/forget by email."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gmail_oneclick.domain.model import Status
from gmail_oneclick.ports import InvalidGrant
from tests.conftest import register_site
from tests.integration.revocation.conftest import (
    connection_row,
    database_contains,
    run_cli,
    stored_secret,
)

EXPORT_CONNECTION_KEYS = {"id", "site", "status", "scopes", "created_at", "last_verified_at",
                          "revoked_at", "revocation_reason", "events"}


def _refreshes_at_google(sandbox: Any, refresh_token: str) -> bool:
    response = requests.post(f"{sandbox.url}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": sandbox.state.client_id, "client_secret": sandbox.state.client_secret,
    }, timeout=10)
    return response.status_code == 200


def test_delete_revokes_at_google_and_purges(
    client: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")

    response = client.delete(f"/v1/connections/{linked.id}", headers=site.auth)

    assert response.status_code == 204
    assert [kind for _, kind in sandbox.state.revoke_calls] == ["refresh_token"]
    assert not _refreshes_at_google(sandbox, linked.refresh_token)
    row = connection_row(container, linked.id)
    assert row is not None
    assert (row.status, row.revocation_reason) == (Status.RECONNECT_REQUIRED, "disconnected")
    assert not database_contains(container, linked.refresh_token)
    assert not database_contains(container, linked.access_token)


def test_delete_keeps_the_grant_another_site_still_uses(
    client: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    leaving = link(site.id, "alice@example.com")
    staying = link(shop.id, "alice@example.com")

    assert client.delete(f"/v1/connections/{leaving.id}", headers=site.auth).status_code == 204

    assert sandbox.state.revoke_calls == []
    assert stored_secret(container, leaving.id) is None
    assert not database_contains(container, leaving.refresh_token)
    assert container.google.refresh(staying.refresh_token).access_token
    assert connection_row(container, staying.id).status is Status.CONNECTED


@pytest.fixture
def unreachable_revoke_app(settings: Any) -> Iterator[Any]:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    app = create_app(settings.replace(google_revoke_uri="http://127.0.0.1:9/revoke",
                                      http_timeout=1.0))
    yield app
    app.extensions[EXTENSION].engine.dispose()


def test_delete_purges_even_when_google_cannot_be_reached(
    unreachable_revoke_app: Any, sandbox: Any
) -> None:
    from gmail_oneclick.entrypoints.web import EXTENSION
    from tests.integration.revocation.conftest import link_account

    container = unreachable_revoke_app.extensions[EXTENSION]
    site = register_site(container)
    linked = link_account(container, sandbox, site.id, "alice@example.com")

    response = unreachable_revoke_app.test_client().delete(
        f"/v1/connections/{linked.id}", headers=site.auth)

    assert response.status_code == 204
    assert stored_secret(container, linked.id) is None
    assert not database_contains(container, linked.refresh_token)


def test_delete_of_another_sites_connection_is_404_and_changes_nothing(
    client: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    theirs = link(shop.id, "alice@example.com")

    response = client.delete(f"/v1/connections/{theirs.id}", headers=site.auth)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert stored_secret(container, theirs.id) == theirs.refresh_token.encode()
    assert sandbox.state.revoke_calls == []


def test_delete_without_api_key_is_401(client: Any, link: Any, site: Any) -> None:
    linked = link(site.id)
    assert client.delete(f"/v1/connections/{linked.id}").status_code == 401


def test_export_lists_everything_held_and_no_secret(
    client: Any, container: Any, link: Any, site: Any
) -> None:
    linked = link(site.id, "alice@example.com")
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)

    response = client.get(f"/v1/connections/{linked.id}/export", headers=site.auth)

    assert response.status_code == 200
    document = response.get_json()
    assert document["email"] == "alice@example.com"
    [exported] = document["connections"]
    assert set(exported) == EXPORT_CONNECTION_KEYS
    assert exported["site"] == {"id": site.id, "name": "Example Blog",
                                "origin": "https://blog.example.com"}
    assert exported["revocation_reason"] == "disconnected"
    assert [e["type"] for e in exported["events"]] == ["connection:revoked"]
    assert exported["events"][0]["at"].endswith("Z")
    assert document["retention"] == {  # how long what is listed here is kept
        "audit_events_days": 180, "idempotency_records_hours": 24, "webhook_events_days": 7}
    text = response.get_data(as_text=True)
    for secret in (linked.refresh_token, linked.access_token, site.api_key, site.webhook_secret):
        assert secret not in text


def test_export_of_another_sites_connection_is_404(
    client: Any, container: Any, link: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    theirs = link(shop.id)
    assert client.get(f"/v1/connections/{theirs.id}/export", headers=site.auth).status_code == 404


def test_privacy_export_by_email_covers_every_site(
    settings: Any, container: Any, link: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    mine = {link(site.id, "alice@example.com").id, link(shop.id, "alice@example.com").id}
    link(site.id, "bob@example.com")

    proc = run_cli(["privacy", "export", "--email", "Alice@Example.com"], settings)

    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert {c["id"] for c in document["connections"]} == mine
    assert document["retention"]["audit_events_days"] == settings.audit_retention_days
    assert "1//" not in proc.stdout and "ya29." not in proc.stdout


def test_privacy_forget_revokes_and_leaves_no_trace_of_the_account(
    settings: Any, client: Any, container: Any, sandbox: Any, link: Any, site: Any
) -> None:
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    first = link(site.id, "alice@example.com")
    second = link(shop.id, "alice@example.com")
    bob = link(site.id, "bob@example.com")
    with container.uow() as uow:  # something to scrub from the audit trail too
        uow.audit.record("message:sent", container.clock.now(), site_id=site.id,
                         connection_id=first.id, gmail_id="18c0ffee", recipients=1)
        uow.commit()

    proc = run_cli(["privacy", "forget", "--email", "alice@example.com"], settings)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"forgotten": 2}
    assert sandbox.state.revoke_calls
    assert not _refreshes_at_google(sandbox, first.refresh_token)
    for needle in ("alice@example.com", first.sub, first.refresh_token, second.refresh_token,
                   first.access_token, "18c0ffee"):
        assert not database_contains(container, needle), needle
    for gone in (first, second):
        assert client.get(f"/v1/connections/{gone.id}/export", headers=site.auth).status_code \
            == 404
    assert client.delete(f"/v1/connections/{first.id}", headers=site.auth).status_code == 404
    with container.uow() as uow:  # connection ids and event tags survive in the audit trail
        trail = uow.audit.for_connection(first.id)
    assert [e["type"] for e in trail] == ["message:sent", "connection:revoked",
                                          "connection:forgotten"]
    assert all(e["data"] == {} for e in trail)
    assert connection_row(container, bob.id).status is Status.CONNECTED


def test_privacy_forget_of_an_unknown_email_is_not_an_error(settings: Any) -> None:
    proc = run_cli(["privacy", "forget", "--email", "nobody@example.com"], settings)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"forgotten": 0}


def test_refresh_after_delete_is_invalid_grant(
    client: Any, container: Any, link: Any, site: Any
) -> None:
    linked = link(site.id)
    client.delete(f"/v1/connections/{linked.id}", headers=site.auth)
    with pytest.raises(InvalidGrant):
        container.google.refresh(linked.refresh_token)


def test_privacy_forget_blanks_the_email_in_webhook_events_of_the_account_only(
    settings: Any, client: Any, container: Any, link: Any
) -> None:
    hooked = register_site(container, name="Hooked", origin="https://hooked.example.com",
                           webhook_url="https://hooked.example.com/hook")
    alice = link(hooked.id, "alice@example.com")
    bob = link(hooked.id, "bob@example.com")
    for linked in (alice, bob):  # each queues a connection.revoked event naming the email
        client.delete(f"/v1/connections/{linked.id}", headers=hooked.auth)

    proc = run_cli(["privacy", "forget", "--email", "alice@example.com"], settings)

    assert proc.returncode == 0, proc.stderr
    with container.uow() as uow:
        emails = {row["payload"]["data"]["connection_id"]: row["payload"]["data"]["email"]
                  for row in uow.outbox.list_for_site(hooked.id)}
    assert emails == {alice.id: None, bob.id: "bob@example.com"}
