"""The in-memory unit of work behaves like the SQL one, for what the services rely on.

Every test runs twice: on the SQL unit of work over a migrated SQLite (or PostgreSQL) database,
and on adapters.memory's. The service specifications (tests/unit/services) run on the memory
one only; this module is why that is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gmail_oneclick.adapters.memory import MemoryDatabase
from gmail_oneclick.adapters.memory import UnitOfWork as MemoryUnitOfWork
from gmail_oneclick.adapters.storage import UnitOfWork as SqlUnitOfWork
from gmail_oneclick.adapters.storage.tables import make_engine
from gmail_oneclick.domain.events import ConnectionRevoked
from gmail_oneclick.domain.model import Connection, RevocationReason, Site, Status
from token_store import Keyring, refresh_token_hash

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)
NewUow = Callable[..., Any]


@pytest.fixture(params=["sql", "memory"])
def new_uow(request: pytest.FixtureRequest, keyring_text: str) -> Iterator[NewUow]:
    keyring = Keyring.parse(keyring_text)
    if request.param == "sql":
        engine = make_engine(request.getfixturevalue("database_url"))
        yield lambda **kw: SqlUnitOfWork(engine, keyring, **kw)
        engine.dispose()
    else:
        database = MemoryDatabase(keyring)
        yield lambda **kw: MemoryUnitOfWork(database, **kw)


def site(uow: Any, site_id: str = "site_a", key_hash: str = "h" * 64,
         webhook_url: str | None = "https://blog.example/hook") -> None:
    uow.sites.add(Site(site_id, "Blog", ("https://blog.example",), webhook_url, T0, T0),
                  key_hash)


def connection(cid: str, *, site_id: str = "site_a", sub: str | None = None,
               email: str | None = None, created: datetime = T0,
               verified: datetime | None = None, next_check: datetime | None = None
               ) -> Connection:
    return Connection(cid, site_id, sub or f"sub-{cid}", email or f"{cid}@example.com",
                      Status.CONNECTED, frozenset({"scope-a", "scope-b"}), created, verified,
                      None, None, T0 + timedelta(hours=1), next_check)


@pytest.fixture
def world(new_uow: NewUow) -> NewUow:
    """One site with two connections (c1 older than c2), committed."""
    with new_uow() as uow:
        site(uow)
        uow.connections.add(connection("c2", created=T0 + S, email="Bob@Example.com"))
        uow.connections.add(connection("c1", verified=T0))
        uow.commit()
    return new_uow


# ---- transactions ----------------------------------------------------------------------------


def test_nothing_is_kept_without_commit(world: NewUow) -> None:
    with world() as uow:
        uow.connections.update("c1", email="changed@example.com")
        uow.tokens.put("connection:c1", "refresh_token", b"1//r")
        uow.audit.record("connection:connected", T0, connection_id="c1")
    with world() as uow:
        assert uow.connections.get("c1").email == "c1@example.com"
        assert uow.tokens.get("connection:c1", "refresh_token") is None
        assert uow.audit.for_connection("c1") == []


def test_a_commit_keeps_what_came_before_it_only(world: NewUow) -> None:
    with world() as uow:
        uow.tokens.put("connection:c1", "refresh_token", b"1//r")
        uow.commit()
        uow.tokens.purge("connection:c1")
    with world() as uow:
        assert uow.tokens.get("connection:c1", "refresh_token") == b"1//r"


def test_on_commit_gets_the_events_queued_and_only_after_commit(world: NewUow) -> None:
    seen: list[list[str]] = []
    with world(on_commit=lambda ids: seen.append(list(ids))) as uow:
        uow.outbox.add(event_id="msg_1", site_id="site_a", type_="t", payload={}, at=T0)
        assert seen == []
        uow.commit()
    assert seen == [["msg_1"]]
    with world(on_commit=lambda ids: seen.append(list(ids))) as uow:
        uow.outbox.add(event_id="msg_2", site_id="site_a", type_="t", payload={}, at=T0)
    assert seen == [["msg_1"]]


def test_recorded_events_must_be_handled_before_commit_and_go_with_a_rollback(
    world: NewUow,
) -> None:
    event = ConnectionRevoked("c1", "site_a", RevocationReason.DISCONNECTED, "delete")
    with world() as uow:
        uow.connections.update("c1", email="changed@example.com")
        uow.record(event)
        with pytest.raises(RuntimeError):
            uow.commit()
        assert uow.collect_events() == [event] and uow.collect_events() == []
    with world() as uow:
        assert uow.connections.get("c1").email == "c1@example.com"
        uow.record(event)
    with world() as uow:
        assert uow.collect_events() == []


def test_using_a_unit_of_work_outside_its_block_is_an_error(new_uow: NewUow) -> None:
    with pytest.raises(RuntimeError):
        new_uow().commit()


# ---- sites and connections ---------------------------------------------------------------------


def test_sites_are_found_by_id_and_by_key_hash(new_uow: NewUow) -> None:
    with new_uow() as uow:
        site(uow)
        uow.commit()
    with new_uow() as uow:
        found = uow.sites.by_api_key_hash("h" * 64)
        assert found is not None and found[0] == uow.sites.get("site_a") and found[1] == "h" * 64
        assert uow.sites.by_api_key_hash("x" * 64) is None
        assert uow.sites.set_api_key_hash("site_a", "k" * 64, T0)
        assert uow.sites.by_api_key_hash("k" * 64) is not None
        assert not uow.sites.set_api_key_hash("nope", "z" * 64, T0)


def test_connections_read_back_as_written_and_are_listed_oldest_first(world: NewUow) -> None:
    with world() as uow:
        c1 = uow.connections.get("c1")
        assert c1 == connection("c1", verified=T0)
        assert [c.id for c in uow.connections.list_for_site("site_a")] == ["c1", "c2"]
        assert uow.connections.get_for_site("site_other", "c1") is None
        assert [c.id for c in uow.connections.list_by_email("bob@example.COM")] == ["c2"]
        assert uow.connections.find_by_site_and_sub("site_a", "sub-c2").id == "c2"
        assert uow.connections.count_live_sharing_grant("sub-c1", excluding="") == 1
        assert uow.connections.count_live_sharing_grant("sub-c1", excluding="c1") == 0


def test_update_sets_columns_and_says_whether_the_row_exists(world: NewUow) -> None:
    with world() as uow:
        assert uow.connections.update("c1", scopes={"x"}, status="reconnect_required")
        assert not uow.connections.update("missing", email="a@b.c")
        c1 = uow.connections.get("c1")
        assert (c1.scopes, c1.status) == (frozenset({"x"}), Status.RECONNECT_REQUIRED)


def test_a_purge_status_change_happens_once_and_keeps_the_first_reason(world: NewUow) -> None:
    with world() as uow:
        assert uow.connections.mark_reconnect_required("c1", "invalid_grant", T0)
        assert not uow.connections.mark_reconnect_required("c1", "disconnected", T0 + S)
        assert not uow.connections.schedule_check("c1", T0)
        c1 = uow.connections.get("c1")
        assert (c1.status, c1.revocation_reason, c1.revoked_at) == (
            Status.RECONNECT_REQUIRED, "invalid_grant", T0)
        assert c1.access_token_expires_at is None


def test_removing_a_site_removes_its_connections(world: NewUow) -> None:
    with world() as uow:
        assert uow.sites.remove("site_a")
        assert uow.connections.get("c1") is None and not uow.sites.remove("site_a")


def test_forget_deletes_rows_blanks_their_audit_data_and_drops_links(world: NewUow) -> None:
    with world() as uow:
        uow.audit.record("message:sent", T0, connection_id="c1", size=3, subject="secret")
        uow.consent.add_link(token_hash="l" * 64, site_id="site_a", return_url="https://b/",
                             login_hint="C1@example.com", created_at=T0, expires_at=T0 + S)
        assert uow.audit.for_connection("c1")[0]["data"] == {"size": 3}  # no content kept
        assert uow.connections.forget(["c1"], "c1@example.com") == 1
        assert uow.connections.get("c1") is None and uow.consent.get_link("l" * 64) is None
        assert [e["data"] for e in uow.audit.for_connection("c1")] == [{}]


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
        uow.tokens.put("connection:c1", "refresh_token", token.encode())
        uow.tokens.index_refresh_token("connection:c1", token)
        uow.commit()
    with new_uow() as uow:
        assert uow.tokens.owners_by_token_hash(refresh_token_hash(token)) == ["connection:c1"]
        assert uow.tokens.owners_by_token_prefix(token[:16]) == ["connection:c1"]
        assert uow.tokens.purge("connection:c1") > 0
        uow.commit()
    with new_uow() as uow:
        assert uow.tokens.get("connection:c1", "refresh_token") is None
        assert uow.tokens.owners_by_token_prefix(token[:16]) == []
