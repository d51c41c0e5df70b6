"""Security events cannot be replayed: a token is either deduplicated by its ``jti`` (kept longer
than the replay window) or refused by its age (``iat``, ``exp``); the issuer's keys expire from
the cache and forged key ids cannot make the service hammer the key set."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from gmail_oneclick.adapters.google.risc import KEY_LIFESPAN, JwksCache, RiscVerifier, jti_retention
from gmail_oneclick.adapters.storage.tables import risc_events
from gmail_oneclick.domain.model import Status
from gmail_oneclick.domain.security_events import TOKENS_REVOKED, VERIFICATION
from gmail_oneclick.entrypoints import checker
from gmail_oneclick.entrypoints.web import create_app_from_container
from tests.conftest import register_site
from tests.integration.consent.conftest import FakeClock
from tests.integration.revocation.conftest import connection_row, stored_secret

WINDOW = 7 * 86400


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Receiver:
    client: Any
    container: Any
    clock: FakeClock
    monotonic: Monotonic
    google: Any

    def post(self, token: str) -> Any:
        return self.client.post("/risc", data=token, content_type="application/secevent+jwt")

    def event(self, email: str, *, event_type: str = TOKENS_REVOKED, **claims: Any) -> str:
        state = self.google
        body = {"iss": state.risc_issuer, "aud": state.client_id,
                "iat": int(self.clock.now().timestamp()), "jti": uuid.uuid4().hex,
                "events": {event_type: {"subject": state.subject_for_account(email),
                                        **({"state": "x"} if event_type == VERIFICATION else {})}}}
        return str(state.sign_jwt({**body, **claims}, typ="secevent+jwt"))

    def jti_count(self) -> int:
        with self.container.engine.connect() as conn:
            return len(conn.execute(select(risc_events.c.jti)).all())


@pytest.fixture
def receiver(container: Any, sandbox: Any) -> Iterator[Receiver]:
    """/risc of the service on a clock the test moves, with a key cache on a movable clock."""
    clock = FakeClock(datetime.now(UTC))
    monotonic = Monotonic()
    settings = container.settings
    timed = dataclasses.replace(container, clock=clock, risc_verifier=RiscVerifier(
        settings, jwks=JwksCache(settings.risc_jwks_uri, timeout=settings.http_timeout,
                                 monotonic=monotonic)))
    app = create_app_from_container(timed)
    yield Receiver(app.test_client(), timed, clock, monotonic, sandbox.state)


@pytest.fixture
def alice(container: Any, sandbox: Any, site: Any) -> Any:
    from tests.accounts import link_account

    return link_account(container, sandbox, site.id, "alice@example.com")


def _connected(container: Any, linked: Any) -> bool:
    row = connection_row(container, linked.id)
    return row is not None and row.status is Status.CONNECTED and \
        stored_secret(container, linked.id) == linked.refresh_token.encode()


def test_an_event_issued_before_the_replay_window_is_refused(receiver: Receiver,
                                                             alice: Any) -> None:
    now = int(receiver.clock.now().timestamp())
    response = receiver.post(receiver.event(alice.email, iat=now - WINDOW - 60))
    assert response.status_code == 400
    assert "replay window" in response.get_json()["error"]["message"]
    assert _connected(receiver.container, alice) and receiver.jti_count() == 0


def test_a_late_event_inside_the_window_still_purges(receiver: Receiver, alice: Any) -> None:
    """Google may deliver days late after an outage on our side."""
    now = int(receiver.clock.now().timestamp())
    assert receiver.post(receiver.event(alice.email, iat=now - WINDOW + 3600)).status_code == 202
    assert connection_row(receiver.container, alice.id).status is Status.RECONNECT_REQUIRED


def test_an_expired_token_is_refused_and_an_unexpired_one_accepted(receiver: Receiver,
                                                                   alice: Any) -> None:
    now = int(receiver.clock.now().timestamp())
    expired = receiver.post(receiver.event(alice.email, iat=now - 900, exp=now - 600))
    assert expired.status_code == 400 and "exp" in expired.get_json()["error"]["message"]
    assert _connected(receiver.container, alice)
    assert receiver.post(receiver.event(alice.email, exp=now + 600)).status_code == 202
    assert connection_row(receiver.container, alice.id).status is Status.RECONNECT_REQUIRED


def test_a_replay_is_deduplicated_while_its_jti_is_kept_and_refused_once_it_is_pruned(
    receiver: Receiver, alice: Any, container: Any, sandbox: Any
) -> None:
    from tests.accounts import link_account

    token = receiver.event(alice.email)
    assert receiver.post(token).status_code == 202
    shop = register_site(container, name="Shop", origin="https://shop.example.com")
    again = link_account(container, sandbox, shop.id, "alice@example.com")  # she reconnects

    receiver.clock.advance(seconds=WINDOW - 3600)
    checker.sweep(receiver.container)
    assert receiver.post(token).status_code == 202  # deduplicated: the jti is still kept
    assert _connected(container, again) and receiver.jti_count() == 1

    receiver.clock.advance(seconds=3600 + jti_retention(container.settings).total_seconds())
    checker.sweep(receiver.container)
    assert receiver.jti_count() == 0
    assert receiver.post(token).status_code == 400  # too old to be acted on again
    assert _connected(container, again)


def test_pruning_keeps_every_jti_younger_than_the_window_plus_margin(
    receiver: Receiver, container: Any
) -> None:
    now = receiver.clock.now()
    retention = jti_retention(container.settings)
    assert retention > timedelta(seconds=container.settings.risc_replay_window)
    ages = {"fresh": timedelta(0), "window_old": timedelta(seconds=WINDOW),
            "almost_due": retention - timedelta(minutes=1),
            "due": retention + timedelta(minutes=1)}
    with container.uow() as uow:
        for jti, age in ages.items():
            uow.risc.remember(jti, [TOKENS_REVOKED], now - age)
        uow.commit()

    checker.sweep(receiver.container)

    with container.engine.connect() as conn:
        kept = {row.jti for row in conn.execute(select(risc_events.c.jti))}
    assert kept == {"fresh", "window_old", "almost_due"}


def _forged(kid: str, receiver: Receiver) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = {"iss": receiver.google.risc_issuer, "aud": receiver.google.client_id,
            "iat": int(time.time()), "jti": uuid.uuid4().hex, "events": {VERIFICATION: {}}}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid, "typ": "secevent+jwt"})


def test_a_flood_of_unknown_key_ids_fetches_the_key_set_at_most_once_a_minute(
    receiver: Receiver, alice: Any
) -> None:
    before = receiver.google.jwks_fetches
    forged = [_forged(f"forged-{i}", receiver) for i in range(3)]
    for i in range(40):
        assert receiver.post(forged[i % 3]).status_code == 400
    assert receiver.google.jwks_fetches - before == 1
    # The real key came with that one fetch: a genuine event needs no other.
    assert receiver.post(receiver.event(alice.email, event_type=VERIFICATION)).status_code == 202
    assert receiver.google.jwks_fetches - before == 1

    receiver.monotonic.now += 61
    for i in range(20):
        assert receiver.post(forged[i % 3]).status_code == 400
    assert receiver.google.jwks_fetches - before == 2


def test_a_key_the_issuer_withdrew_stops_verifying_once_the_cache_expires(
    receiver: Receiver, alice: Any
) -> None:
    state = receiver.google
    old = state._signing_key
    assert receiver.post(receiver.event(alice.email, event_type=VERIFICATION)).status_code == 202
    state.rotate_signing_key()  # the old key leaves the published key set

    def signed_by_old_key() -> str:
        body = {"iss": state.risc_issuer, "aud": state.client_id, "iat": int(time.time()),
                "jti": uuid.uuid4().hex,
                "events": {TOKENS_REVOKED: {"subject": state.subject_for_account(alice.email)}}}
        return jwt.encode(body, old.private_key, algorithm="RS256",
                          headers={"kid": old.kid, "typ": "secevent+jwt"})

    assert receiver.post(signed_by_old_key()).status_code == 202  # still cached
    fetches = state.jwks_fetches
    receiver.monotonic.now += KEY_LIFESPAN
    assert receiver.post(signed_by_old_key()).status_code == 400
    assert state.jwks_fetches == fetches + 1
    assert receiver.post(receiver.event(alice.email, event_type=VERIFICATION)).status_code == 202
