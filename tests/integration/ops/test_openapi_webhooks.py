"""The document's ``webhooks`` say what the service really posts: a real connect and disconnect
deliver both events to a receiver on loopback, whose bodies validate against the documented
schemas and whose signatures verify by the recipe the document gives (not by a library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from ops_flow import connect_account
from test_openapi import packaged_document
from werkzeug.wrappers import Request, Response

from gmail_oneclick.domain.model import RevocationReason
from gmail_oneclick.services import webhooks
from gmail_oneclick.settings import Settings
from tests.conftest import register_site
from tests.live import LiveServer


class Receiver:
    """A site's webhook endpoint on 127.0.0.1 that keeps every request it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.received.append(({k.lower(): v for k, v in request.headers}, request.get_data()))
        return Response(status=204)(environ, start_response)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(webhook_private_targets="allow")  # the receiver is on loopback


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    server = LiveServer().serve(app)
    yield app, server.url + "/hooks"
    server.stop()


def documented(event_type: str) -> dict[str, Any]:
    return packaged_document()["webhooks"][event_type]["post"]  # type: ignore[no-any-return]


def body_validator(event_type: str) -> Any:
    document = packaged_document()
    schema = documented(event_type)["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def signed_as_documented(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The document's recipe: HMAC-SHA256 keyed by the base64 after ``whsec_``, over
    ``id.timestamp.body``, sent as ``v1,<base64>``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


def test_the_documented_events_are_the_ones_the_service_sends() -> None:
    assert set(packaged_document()["webhooks"]) == {webhooks.CONNECTED, webhooks.REVOKED}
    reason = packaged_document()["components"]["schemas"]["ConnectionRevokedEvent"][
        "properties"]["data"]["properties"]["reason"]
    assert set(reason["enum"]) == {r.value for r in RevocationReason}


@pytest.mark.parametrize("event_type", [webhooks.CONNECTED, webhooks.REVOKED])
def test_each_documented_example_validates_against_its_schema(event_type: str) -> None:
    content = documented(event_type)["requestBody"]["content"]["application/json"]
    body_validator(event_type).validate(content["example"])


def test_a_connect_and_a_disconnect_post_what_the_document_says(
    app: Any, client: Any, container: Any, receiver: tuple[Receiver, str]
) -> None:
    received, url = receiver
    site = register_site(container, name="Hooked", origin="https://blog.example.com",
                         webhook_url=url)
    connection_id = connect_account(app, site, "admin@example.com")
    assert client.delete(f"/v1/connections/{connection_id}", headers=site.auth).status_code == 204
    counts = webhooks.deliver_due(container.uow, container.webhook_transport, container.clock,
                                  lease_owner="test")
    assert counts.delivered == 2 and len(received.received) == 2

    seen = []
    for headers, body in received.received:
        event = json.loads(body)
        body_validator(event["type"]).validate(event)
        for parameter in documented(event["type"])["parameters"]:
            value = headers[parameter["name"]]
            assert re.fullmatch(parameter["schema"].get("pattern", ".+"), value), parameter
        assert signed_as_documented(site.webhook_secret, headers, body)
        assert event["data"]["connection_id"] == connection_id
        seen.append((event["type"], event["data"]["email"], event["data"]["reason"]))
    assert sorted(seen) == [(webhooks.CONNECTED, "admin@example.com", None),
                    (webhooks.REVOKED, "admin@example.com", "disconnected")]
