"""Key rotation: re-wrap every DEK and re-MAC every token prefix under the primary KEK.

Only DEKs are re-encrypted (the secrets under them stay as they are), and prefix MACs
are recomputed from the sealed prefix, never from a token. Each batch reads its rows in
one SELECT, writes them in one UPDATE (an executemany) and commits on its own, so an
interrupted run leaves each row either old or new, both readable with the keyring that
holds both keys; rerunning finishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, bindparam, func, select, update

from token_store import envelope
from token_store.envelope import DecryptionError
from token_store.keyring import Keyring
from token_store.sql import data_keys, kek_ids_in_use, secrets_table, token_ids
from token_store.store import PREFIX_PURPOSE


@dataclass(frozen=True)
class RotationResult:
    """``rewrapped``: DEKs moved to the primary KEK by this run;
    ``already_current``: DEKs that were under the primary when the run started."""

    rewrapped: int
    already_current: int


def rotate_keys(
    engine: Engine,
    keyring: Keyring,
    batch_size: int = 500,
    *,
    on_batch: Callable[[RotationResult], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RotationResult:
    """Move every DEK and prefix MAC to ``keyring.primary_id``, committing per batch.

    ``on_batch`` is called after each committed batch with the progress so far;
    ``on_progress(done, total)`` too, counting rows (DEKs and prefix MACs) examined out of
    those not under the primary when the run started, so a caller can show a progress bar.
    Raises KeyringError naming the missing ids, before changing anything, when stored
    data uses a key id the keyring lacks; DecryptionError when a stored row is corrupt
    (batches committed before it stay committed).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    already_current, total = _survey(engine, keyring, count_pending=on_progress is not None)
    rewrapped = done = 0
    for step in (_rewrap_batch, _remac_batch):
        after = ""
        while True:
            with engine.begin() as conn:
                last_owner, changed, seen = step(conn, keyring, after, batch_size)
            if last_owner is None:
                break
            after = last_owner
            if step is _rewrap_batch:
                rewrapped += changed
            done += seen
            if on_batch is not None:
                on_batch(RotationResult(rewrapped=rewrapped, already_current=already_current))
            if on_progress is not None:
                # Rows written meanwhile are already under the primary, so done stays <= total.
                on_progress(min(done, total), total)
    return RotationResult(rewrapped=rewrapped, already_current=already_current)


def _survey(engine: Engine, keyring: Keyring, *, count_pending: bool) -> tuple[int, int]:
    """(DEKs already under the primary, rows still to move or 0 when not counted); raises
    KeyringError before anything changes when stored data uses a key id the keyring lacks."""
    with engine.connect() as conn:
        keyring.require(kek_ids_in_use(conn))
        already_current = conn.execute(
            select(func.count())
            .select_from(data_keys)
            .where(data_keys.c.kek_id == keyring.primary_id)
        ).scalar_one()
        return already_current, _pending(conn, keyring) if count_pending else 0


def _pending(conn: Connection, keyring: Keyring) -> int:
    """DEKs and prefix MACs not yet under the primary KEK."""
    keys = conn.execute(select(func.count()).select_from(data_keys)
                        .where(data_keys.c.kek_id != keyring.primary_id)).scalar_one()
    macs = conn.execute(select(func.count()).select_from(token_ids)
                        .where(token_ids.c.mac_kek_id != keyring.primary_id)).scalar_one()
    return int(keys) + int(macs)


# Built once with bind parameters so that each batch is ONE executemany: building and
# compiling an UPDATE per row cost more than all the crypto. The WHERE keeps the
# compare-and-set on the old key id (and old MAC): a row purged or rewritten meanwhile is
# left alone. Parameter names differ from the columns, which SQLAlchemy reserves for SET.
_REWRAP = (
    update(data_keys)
    .where(data_keys.c.owner == bindparam("b_owner"),
           data_keys.c.kek_id == bindparam("b_old_kek"))
    .values(kek_id=bindparam("b_kek"), wrapped_key=bindparam("b_wrapped"),
            rotated_at=bindparam("b_at"))
)
_REMAC = (
    update(token_ids)
    .where(token_ids.c.owner == bindparam("b_owner"),
           token_ids.c.mac_kek_id == bindparam("b_old_kek"),
           token_ids.c.prefix_mac == bindparam("b_old_mac"))
    .values(prefix_mac=bindparam("b_mac"), mac_kek_id=bindparam("b_kek"))
)


def _rewrap_batch(
    conn: Connection, keyring: Keyring, after: str, batch_size: int
) -> tuple[str | None, int, int]:
    """Re-wrap up to ``batch_size`` DEKs after ``after``; returns (last owner, rows changed,
    rows examined)."""
    rows = conn.execute(
        select(data_keys.c.owner, data_keys.c.kek_id, data_keys.c.wrapped_key)
        .where(data_keys.c.kek_id != keyring.primary_id, data_keys.c.owner > after)
        .order_by(data_keys.c.owner)
        .limit(batch_size)
        .with_for_update()
    ).all()
    if not rows:
        return None, 0, 0
    now = datetime.now(UTC)
    params = []
    for owner, kek_id, wrapped in rows:
        dek = envelope.unwrap_data_key(keyring, owner, kek_id, bytes(wrapped))
        new_kek_id, new_wrapped = envelope.wrap_data_key(keyring, owner, dek)
        params.append({"b_owner": owner, "b_old_kek": kek_id, "b_kek": new_kek_id,
                       "b_wrapped": new_wrapped, "b_at": now})
    changed = conn.execute(_REWRAP, params).rowcount
    return rows[-1].owner, int(changed), len(rows)


def _remac_batch(
    conn: Connection, keyring: Keyring, after: str, batch_size: int
) -> tuple[str | None, int, int]:
    """Recompute up to ``batch_size`` prefix MACs under the primary KEK; returns as
    _rewrap_batch."""
    rows = conn.execute(_prefix_rows(keyring, after, batch_size)).all()
    if not rows:
        return None, 0, 0
    mac_key = envelope.prefix_mac_key(keyring.primary_key)
    params = []
    for owner, mac_kek_id, old_mac, ciphertext, kek_id, wrapped in rows:
        prefix = _open_prefix(keyring, owner, ciphertext, kek_id, wrapped)
        params.append({"b_owner": owner, "b_old_kek": mac_kek_id, "b_old_mac": old_mac,
                       "b_mac": envelope.prefix_mac_with(mac_key, prefix),
                       "b_kek": keyring.primary_id})
    changed = conn.execute(_REMAC, params).rowcount
    return rows[-1].owner, int(changed), len(rows)


def _prefix_rows(keyring: Keyring, after: str, batch_size: int) -> Select[Any]:
    """A batch of token identifiers not under the primary, each with its sealed prefix and
    data key in the same row (outer joins: a missing one is corruption, reported as such)."""
    joined = token_ids.outerjoin(
        secrets_table,
        and_(secrets_table.c.owner == token_ids.c.owner,
             secrets_table.c.purpose == PREFIX_PURPOSE),
    ).outerjoin(data_keys, data_keys.c.owner == token_ids.c.owner)
    return (
        select(token_ids.c.owner, token_ids.c.mac_kek_id, token_ids.c.prefix_mac,
               secrets_table.c.ciphertext, data_keys.c.kek_id, data_keys.c.wrapped_key)
        .select_from(joined)
        .where(token_ids.c.mac_kek_id != keyring.primary_id, token_ids.c.owner > after)
        .order_by(token_ids.c.owner)
        .limit(batch_size)
        # PostgreSQL cannot lock the nullable side of an outer join; the MAC row is the one
        # the UPDATE guards, as before.
        .with_for_update(of=token_ids)
    )


def _open_prefix(
    keyring: Keyring, owner: str, ciphertext: bytes | None, kek_id: str | None,
    wrapped: bytes | None,
) -> str:
    """The sealed token prefix of ``owner``; DecryptionError when it or its key is missing
    or does not authenticate (the same errors ``SqlTokenStore.get`` raises)."""
    if ciphertext is None:
        raise DecryptionError(f"token identifiers of {owner!r} lack their sealed prefix")
    if kek_id is None or wrapped is None:
        raise DecryptionError(f"secret {PREFIX_PURPOSE!r} of {owner!r} has no data key")
    dek = envelope.unwrap_data_key(keyring, owner, kek_id, bytes(wrapped))
    return envelope.open_secret(dek, owner, PREFIX_PURPOSE, bytes(ciphertext)).decode("utf-8")
