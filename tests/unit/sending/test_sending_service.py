"""The send's retry policy, on the in-memory unit of work with fake Google and Gmail:
bounded jittered retries where Gmail cannot have taken the message, a short 429 waited out, a
long one handed back, and Gmail's refusals in our own words."""

from __future__ import annotations

import io

import pytest

from gmail_oneclick.domain import errors
from gmail_oneclick.ports import GmailRateLimited, GmailRejected, TransientUpstream
from gmail_oneclick.services import sending
from tests.unit.services.conftest import World, message, new_world


@pytest.fixture
def world() -> World:
    world = new_world()
    world.connect()
    return world


def send(world: World, **policy: float) -> sending.SendResult:
    raw = message()
    out = sending.Outgoing(site_id=world.site.id, message=io.BytesIO(raw), size=len(raw))
    return sending.send_message(world.sending(**policy), out)


def test_5xx_retries_are_bounded_by_attempts_and_jittered_under_the_cap(world: World) -> None:
    world.gmail.answers += [TransientUpstream("503")] * 5
    with pytest.raises(errors.UpstreamUnavailable) as raised:
        send(world, attempts=4, backoff_cap=2.0)
    assert len(world.gmail.attempts) == 4 and len(world.sleeps) == 3
    assert all(0 <= s <= 2.0 for s in world.sleeps)
    assert raised.value.retry_after == 30


def test_a_short_429_is_waited_out_and_retried(world: World) -> None:
    world.gmail.answers.append(GmailRateLimited("429", retry_after=2))
    assert send(world, backoff_cap=4.0).id == "gm2"
    assert world.sleeps == [2]


def test_a_429_longer_than_the_cap_is_handed_back_at_once(world: World) -> None:
    world.gmail.answers.append(GmailRateLimited("429", retry_after=30))
    with pytest.raises(errors.RateLimited) as raised:
        send(world, backoff_cap=4.0)
    assert raised.value.retry_after == 30 and world.sleeps == []


@pytest.mark.parametrize(("status", "reason", "code"), [
    (400, "invalidArgument", "invalid_message"),
    (400, "failedPrecondition", "mail_service_not_enabled"),
    (403, "insufficientPermissions", "scope_missing"),
    (403, "forbidden", "gmail_permission_denied"),
    (413, "uploadTooLarge", "message_too_large"),
])
def test_gmail_refusals_are_our_codes_and_never_retried(world: World, status: int, reason: str,
                                                        code: str) -> None:
    world.gmail.answers.append(GmailRejected("Invalid To header: secret@x.io", status=status,
                                             reason=reason))
    with pytest.raises(errors.ServiceError) as raised:
        send(world)
    assert raised.value.code == code and "secret" not in raised.value.message
    assert len(world.gmail.attempts) == 1
