"""Sending (services.sending, services.tokens, services.send_keys): which token, which
connection, what a failure of Gmail or Google does to the connection, and Idempotency-Keys."""

from __future__ import annotations

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.domain.model import ACCESS_TOKEN, REFRESH_TOKEN, Status
from gmail_oneclick.ports import (
    GmailDeliveryUnknown,
    GmailRateLimited,
    GmailRejected,
    GmailUnauthorized,
    InvalidGrant,
    TransientUpstream,
)
from tests.unit.services.conftest import ALICE, BOB, World, message


def test_a_fresh_cached_token_sends_without_asking_google(world: World) -> None:
    cid = world.connect()
    sent = world.send()
    assert (sent.id, sent.thread_id, sent.connection_id, sent.replayed) == (
        "gm1", "th1", cid, False)
    assert world.gmail.tokens == ["ya29.access-1"] and world.google.refreshed_with == []
    assert world.gmail.attempts[0][1] == message()


def test_an_expiring_token_is_refreshed_once_stored_and_reused(world: World) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    world.send()
    world.send()
    assert world.google.refreshed_with == ["1//refresh-1"]
    assert world.gmail.tokens == ["ya29.access-2", "ya29.access-2"]
    assert world.secret(cid, ACCESS_TOKEN) == b"ya29.access-2"


def test_a_rotated_refresh_token_replaces_the_old_one(world: World) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    world.google.refreshes.append(world.google.grant(refresh="1//rotated"))
    world.send()
    assert world.secret(cid, REFRESH_TOKEN) == b"1//rotated"


def test_a_401_refreshes_once_and_retries_with_the_new_token(world: World) -> None:
    world.connect()
    world.gmail.answers.append(GmailUnauthorized("401"))
    assert world.send().id == "gm2"
    assert world.gmail.tokens == ["ya29.access-1", "ya29.access-2"]
    assert world.google.refreshed_with == ["1//refresh-1"]


def test_a_second_401_is_upstream_unavailable_and_the_connection_stays(world: World) -> None:
    cid = world.connect()
    world.gmail.answers += [GmailUnauthorized("401"), GmailUnauthorized("401")]
    with pytest.raises(errors.UpstreamUnavailable):
        world.send()
    assert len(world.google.refreshed_with) == 1 and len(world.gmail.attempts) == 2
    connection = world.connection(cid)
    assert connection is not None and connection.status is Status.CONNECTED


def test_a_429_is_rate_limited_and_never_purges(world: World) -> None:
    cid = world.connect()
    world.gmail.answers += [GmailRateLimited("429", retry_after=120)]
    with pytest.raises(errors.RateLimited) as raised:
        world.send()
    assert raised.value.retry_after == 120 and len(world.gmail.attempts) == 1
    assert world.secret(cid, REFRESH_TOKEN) == b"1//refresh-1"
    assert world.connection(cid).status is Status.CONNECTED  # type: ignore[union-attr]


def test_gmail_5xx_is_retried_with_backoff_then_upstream_unavailable(world: World) -> None:
    cid = world.connect()
    world.gmail.answers += [TransientUpstream("503")] * 3
    with pytest.raises(errors.UpstreamUnavailable):
        world.send()
    assert len(world.gmail.attempts) == 3 and len(world.sleeps) == 2
    assert all(0 <= s <= 4.0 for s in world.sleeps)
    assert world.connection(cid).status is Status.CONNECTED  # type: ignore[union-attr]


def test_invalid_grant_on_refresh_purges_and_asks_for_a_reconnect(world: World) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    world.google.refreshes.append(InvalidGrant("invalid_grant"))
    with pytest.raises(errors.ReconnectRequired):
        world.send()
    connection = world.connection(cid)
    assert connection is not None and connection.status is Status.RECONNECT_REQUIRED
    assert connection.revocation_reason == "invalid_grant"
    assert world.secret(cid, REFRESH_TOKEN) is None and world.gmail.attempts == []
    assert world.events()[-1]["type"] == "connection.revoked"
    with pytest.raises(errors.ReconnectRequired):  # and says so without calling anyone
        world.send()
    assert len(world.google.refreshed_with) == 1


def test_a_transient_refresh_failure_is_503_and_purges_nothing(world: World) -> None:
    cid = world.connect()
    world.expire_access_token(cid)
    world.google.refreshes.append(TransientUpstream("token endpoint 503", retry_after=7))
    with pytest.raises(errors.UpstreamUnavailable) as raised:
        world.send()
    assert raised.value.retry_after == 7
    assert world.secret(cid, REFRESH_TOKEN) == b"1//refresh-1"
    assert world.send().id == "gm1"  # the next send refreshes and goes through


def test_the_from_address_picks_the_connection(world: World) -> None:
    world.connect(ALICE)
    bob = world.connect(BOB)
    assert world.send(message(sender="Bob <BOB@example.com>")).connection_id == bob
    with pytest.raises(errors.ConnectionRequired):
        world.send(message(sender="mallory@example.com"))


def test_a_site_without_a_connection_is_told_to_connect_one(world: World) -> None:
    with pytest.raises(errors.ConnectionRequired):
        world.send()
    assert world.gmail.attempts == []


def test_a_permanent_refusal_is_our_code_not_googles_words(world: World) -> None:
    world.connect()
    world.gmail.answers.append(GmailRejected("Invalid To header: secret@x.io", status=400,
                                             reason="invalidArgument"))
    with pytest.raises(errors.InvalidMessage) as raised:
        world.send()
    assert "secret" not in raised.value.message and len(world.gmail.attempts) == 1


# ---- Idempotency-Key ----------------------------------------------------------------------


def test_a_repeated_key_returns_the_first_result_without_sending_again(world: World) -> None:
    world.connect()
    first = world.send(idempotency_key="order-1")
    again = world.send(idempotency_key="order-1")
    assert (again.id, again.replayed) == (first.id, True) and len(world.gmail.attempts) == 1


def test_a_key_reused_for_another_message_is_refused(world: World) -> None:
    world.connect()
    world.send(idempotency_key="order-1")
    with pytest.raises(errors.IdempotencyKeyReused):
        world.send(message(body="other"), idempotency_key="order-1")


def test_a_send_that_may_have_reached_gmail_is_never_repeated(world: World) -> None:
    world.connect()
    world.gmail.answers.append(GmailDeliveryUnknown("timeout"))
    for _ in range(2):
        with pytest.raises(errors.DeliveryUnknown):
            world.send(idempotency_key="order-1")
    assert len(world.gmail.attempts) == 1


def test_a_send_refused_before_gmail_took_it_frees_its_key(world: World) -> None:
    world.connect()
    world.gmail.answers.append(GmailRejected("bad", status=400, reason="invalidArgument"))
    with pytest.raises(errors.InvalidMessage):
        world.send(idempotency_key="order-1")
    assert world.send(idempotency_key="order-1").replayed is False
    assert len(world.gmail.attempts) == 2


def test_a_key_whose_send_is_running_answers_in_progress(world: World) -> None:
    world.connect()
    repeats: list[errors.ServiceError] = []

    def repeat() -> None:
        with pytest.raises(errors.IdempotencyInProgress) as raised:
            world.send(idempotency_key="order-1")
        repeats.append(raised.value)

    world.gmail.meanwhile.append(repeat)
    world.send(idempotency_key="order-1")
    assert [r.retry_after for r in repeats] == [300] and len(world.gmail.attempts) == 1
