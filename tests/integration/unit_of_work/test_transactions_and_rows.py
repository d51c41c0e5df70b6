"""The in-memory unit of work behaves like the SQL one: transactions, sites and connections.

Every test runs twice: on the SQL unit of work over a migrated SQLite (or PostgreSQL) database,
and on adapters.memory's. The service specifications (tests/unit/services) run on the memory
one only; this package is why that is enough.
"""

from __future__ import annotations

import pytest

from gmail_oneclick.domain.events import ConnectionRevoked
from gmail_oneclick.domain.model import REFRESH_TOKEN, RevocationReason, Status
from tests.integration.unit_of_work.conftest import T0, NewUow, S, connection, site

# ---- transactions ----------------------------------------------------------------------------


def test_nothing_is_kept_without_commit(world: NewUow) -> None:
    with world() as uow:
        uow.connections.update("c1", email="changed@example.com")
        uow.tokens.put("connection:c1", REFRESH_TOKEN, b"1//r")
        uow.audit.record("connection:connected", T0, connection_id="c1")
    with world() as uow:
        assert uow.connections.get("c1").email == "c1@example.com"
        assert uow.tokens.get("connection:c1", REFRESH_TOKEN) is None
        assert uow.audit.for_connection("c1") == []


def test_a_commit_keeps_what_came_before_it_only(world: NewUow) -> None:
    with world() as uow:
        uow.tokens.put("connection:c1", REFRESH_TOKEN, b"1//r")
        uow.commit()
        uow.tokens.purge("connection:c1")
    with world() as uow:
        assert uow.tokens.get("connection:c1", REFRESH_TOKEN) == b"1//r"


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
