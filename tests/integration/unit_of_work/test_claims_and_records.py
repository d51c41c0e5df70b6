"""The in-memory unit of work behaves like the SQL one: claims, leases, idempotency, RISC, rate
limits, consent, the outbox and token lookup. Every test runs on both (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

from gmail_oneclick.domain.model import REFRESH_TOKEN
from tests.integration.unit_of_work.conftest import T0, NewUow, S, connection, site
from token_store import refresh_token_hash

# ---- claims and leases -------------------------------------------------------------------------


def test_due_connections_are_claimed_once_oldest_verified_first(new_uow: NewUow) -> None:
    with new_uow() as uow:
        site(uow)
        uow.connections.add(connection("new", verified=T0 + S))
        uow.connections.add(connection("never", verified=None))
        uow.connections.add(connection("later", next_check=T0 + 10 * S))
        uow.commit()
    with new_uow() as uow:
        claimed = uow.connections.claim_due_for_check(T0 + S, limit=5, hold_until=T0 + 60 * S)
        assert claimed == ["never", "new"]
        assert uow.connections.claim_due_for_check(T0 + S, limit=5, hold_until=T0) == []
        uow.connections.schedule_check("never", T0 + 3600 * S)  # verified meanwhile
        renewed = uow.connections.renew_claims(claimed, T0 + 60 * S, T0 + 120 * S)
        assert renewed == 1 and uow.connections.get("new").next_check_at == T0 + 120 * S


def test_the_next_check_is_the_earliest_connected_one_or_now_when_one_is_unscheduled(
    new_uow: NewUow,
) -> None:
    with new_uow() as uow:
        site(uow)
        assert uow.connections.next_check_at(T0) is None  # nothing connected, nothing due
        uow.connections.add(connection("soon", next_check=T0 + 60 * S))
        uow.connections.add(connection("later", next_check=T0 + 600 * S))
        uow.connections.add(connection("gone", next_check=T0 + 5 * S))
        uow.connections.mark_reconnect_required("gone", "invalid_grant", T0)
        uow.commit()
    with new_uow() as uow:
        assert uow.connections.next_check_at(T0) == T0 + 60 * S
        uow.connections.add(connection("fresh", next_check=None))
        assert uow.connections.next_check_at(T0) == T0


def test_a_lease_is_held_by_one_owner_until_released_or_lapsed(world: NewUow) -> None:
    with world() as uow:
        leases = uow.leases
        assert leases.acquire("c1", "a", T0, T0 + 15 * S)
        assert not leases.acquire("c1", "b", T0 + S, T0 + 16 * S)
        assert leases.acquire("c1", "a", T0 + S, T0 + 16 * S)  # ours: extended
        assert not leases.renew("c1", "b", T0 + 30 * S)
        leases.release("c1", "b")  # not b's: nothing happens
        assert leases.holder("c1") == ("a", T0 + 16 * S)
        assert leases.acquire("c1", "b", T0 + 16 * S, T0 + 30 * S)  # lapsed
        leases.release("c1", "b")
        assert leases.holder("c1") == (None, None)
        uow.connections.mark_reconnect_required("c2", "invalid_grant", T0)
        assert not leases.acquire("c2", "a", T0, T0 + S)  # only connected ones


# ---- idempotency, RISC, rate limits -------------------------------------------------------------


def test_an_idempotency_key_is_claimed_once_then_settled(world: NewUow) -> None:
    with world() as uow:
        keys = uow.idempotency
        assert keys.claim("site_a", "k", "m", T0, T0 - 86400 * S, T0 + 300 * S) is None
        again = keys.claim("site_a", "k", "m", T0 + S, T0 - 86400 * S, T0 + 301 * S)
        assert (again.state, again.lease_until) == ("pending", T0 + 300 * S)
        keys.complete("site_a", "k", connection_id="c1", gmail_id="g1", thread_id="t1")
        keys.release("site_a", "k")  # only a pending key is released
        done = keys.get("site_a", "k")
        assert (done.state, done.gmail_id, done.thread_id, done.lease_until) == (
            "done", "g1", "t1", None)


def test_an_unknown_outcome_sticks_and_an_expired_key_starts_over(world: NewUow) -> None:
    with world() as uow:
        keys = uow.idempotency
        keys.claim("site_a", "k", "m", T0, T0, T0 + S)
        keys.mark_unknown("site_a", "k", connection_id="c1")
        keys.release("site_a", "k")
        assert keys.get("site_a", "k").state == "unknown"
        assert keys.claim("site_a", "k", "m2", T0 + 2 * S, T0 + S, T0 + 3 * S) is None
        keys.release("site_a", "k")
        assert keys.get("site_a", "k") is None
        assert keys.delete_expired(T0, limit=10) == 0


def test_a_replayed_security_event_is_recognised(new_uow: NewUow) -> None:
    with new_uow() as uow:
        assert uow.risc.remember("jti-1", ["t"], T0)
        assert not uow.risc.remember("jti-1", ["t"], T0)
        assert uow.risc.forget_before(T0 + S) == 1 and uow.risc.remember("jti-1", ["t"], T0)


def test_rate_limit_counts_per_window(new_uow: NewUow) -> None:
    with new_uow() as uow:
        window = timedelta(minutes=1)
        assert uow.rate_limits.hit("b", T0, window) == (1, T0 + window)
        assert uow.rate_limits.hit("b", T0 + S, window) == (2, T0 + window)
        assert uow.rate_limits.hit("b", T0 + window, window) == (1, T0 + 2 * window)


# ---- consent ------------------------------------------------------------------------------------


def test_links_and_states_are_spent_once(world: NewUow) -> None:
    with world() as uow:
        uow.consent.add_link(token_hash="l" * 64, site_id="site_a", return_url="https://b/",
                             login_hint=None, created_at=T0, expires_at=T0 + S)
        uow.consent.add_state(state_hash="s" * 64, link_hash="l" * 64, site_id="site_a",
                              return_url="https://b/", browser_hash="b" * 64, created_at=T0,
                              expires_at=T0 + S)
        assert uow.consent.use_link("l" * 64, T0) and not uow.consent.use_link("l" * 64, T0)
        assert uow.consent.use_state("s" * 64, T0) and not uow.consent.use_state("s" * 64, T0)
        assert uow.consent.get_state("s" * 64).used_at == T0
        assert uow.consent.states_expired_before(T0 + 2 * S) == ["s" * 64]
        assert uow.consent.delete_states(["s" * 64]) == 1
        assert uow.consent.delete_links_expired_before(T0 + 2 * S) == 1


# ---- outbox -------------------------------------------------------------------------------------


def test_due_events_are_claimed_by_one_deliverer_at_a_time(world: NewUow) -> None:
    with world() as uow:
        box = uow.outbox
        box.add(event_id="msg_1", site_id="site_a", type_="t", payload={"data": {}}, at=T0,
                connection_id="c1")
        box.add(event_id="msg_2", site_id="site_a", type_="t", payload={}, at=T0 + S)
        claimed = box.claim_due(T0 + S, limit=1, lease_owner="a", lease_until=T0 + 60 * S)
        assert [(e.id, e.attempts) for e in claimed] == [("msg_1", 0)]
        assert box.claim("msg_1", T0 + S, lease_owner="b", lease_until=T0 + 60 * S) is None
        assert not box.mark_retry("msg_1", "b", next_at=T0, attempts=1, status=500)
        assert box.mark_retry("msg_1", "a", next_at=T0 + 10 * S, attempts=1, status=500)
        assert box.claim_due(T0 + 2 * S, limit=5, lease_owner="b",
                             lease_until=T0 + 60 * S)[0].id == "msg_2"
        again = box.claim("msg_1", T0 + 10 * S, lease_owner="b", lease_until=T0 + 70 * S)
        assert again is not None and again.attempts == 1
        assert box.mark_delivered("msg_1", "b", at=T0 + 11 * S, attempts=2, status=204)
        assert box.mark_failed("msg_2", "b", at=T0 + 11 * S, attempts=1, status=410)
        assert box.claim_due(T0 + 3600 * S, limit=5, lease_owner="c", lease_until=T0) == []
        assert box.prune_finished_before(T0 + S, limit=10) == 1  # msg_2 is newer
        assert box.get("msg_1") is None and box.get("msg_2")["failed_at"] is not None


def test_privacy_scrubs_the_email_of_queued_events(world: NewUow) -> None:
    with world() as uow:
        data = {"connection_id": "c1", "email": "c1@example.com", "reason": None}
        uow.outbox.add(event_id="msg_1", site_id="site_a", type_="t", payload={"data": data},
                       at=T0, connection_id="c1")
        assert uow.outbox.scrub_email(["c1"]) == 1
        assert uow.outbox.get("msg_1")["payload"]["data"]["email"] is None
        assert uow.outbox.list_for_site("site_a")[0]["id"] == "msg_1"


# ---- tokens -------------------------------------------------------------------------------------


def test_tokens_are_found_by_their_risc_identifiers_and_purged(new_uow: NewUow) -> None:
    token = "1//0refresh-token-value"
    with new_uow() as uow:
        uow.tokens.put("connection:c1", REFRESH_TOKEN, token.encode())
        uow.tokens.index_refresh_token("connection:c1", token)
        uow.commit()
    with new_uow() as uow:
        assert uow.tokens.owners_by_token_hash(refresh_token_hash(token)) == ["connection:c1"]
        assert uow.tokens.owners_by_token_prefix(token[:16]) == ["connection:c1"]
        assert uow.tokens.purge("connection:c1") > 0
        uow.commit()
    with new_uow() as uow:
        assert uow.tokens.get("connection:c1", REFRESH_TOKEN) is None
        assert uow.tokens.owners_by_token_prefix(token[:16]) == []
