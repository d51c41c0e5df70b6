"""Key rotation rate: ``token_store.rotate_keys`` over every connection's data key.

Method: ``--connections`` owners ``connection:<id>`` with the rows ``SqlTokenStore`` writes
for a connection, under key ``k1``: a data key, the refresh token, and its RISC identifiers (a
cached access token would add one more secret under the same data key, which rotation never
touches). They are written in bulk with token_store's own envelope functions and spot-checked
through ``SqlTokenStore``. The tokens are random strings shaped like Google's: rotation never
reads a secret, only unwraps and re-wraps each data key and re-MACs each sealed prefix, so real
sandbox tokens would change nothing. Then a new primary key ``k2`` is put first in the keyring
and ``rotate_keys`` (default batch) runs once, timed. Rows = data keys re-wrapped plus prefix
MACs recomputed.

Target: a floor of 10,000 data keys re-wrapped per second on this machine, printed with the
figure (this script measures no send rate; ``make bench`` divides by the one send_throughput
measured in the same run).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from bench import common

TARGET_KEYS_PER_S = 10_000


def seed(engine: Any, keyring: Any, owners: int, batch: int = 5000) -> None:
    """The rows ``SqlTokenStore.put`` and ``index_refresh_token`` write, made with token_store's
    own envelope functions and inserted in bulk (the store's one-row-at-a-time path would take
    longer than the rotation being measured). ``check_seed`` reads some back through the store."""
    from datetime import UTC, datetime

    from token_store import envelope
    from token_store.sql import data_keys, secrets_table, token_ids
    from token_store.store import PREFIX_PURPOSE, refresh_token_hash, token_prefix

    now = datetime.now(UTC)
    for start in range(0, owners, batch):
        keys, sealed, ids = [], [], []
        for i in range(start, min(owners, start + batch)):
            owner = f"connection:conn_{i:08d}"
            refresh = "1//0bench-" + secrets.token_urlsafe(48)
            dek = envelope.new_data_key()
            kek_id, wrapped = envelope.wrap_data_key(keyring, owner, dek)
            keys.append({"owner": owner, "kek_id": kek_id, "wrapped_key": wrapped,
                         "created_at": now})
            for purpose, value in (("refresh_token", refresh),
                                   (PREFIX_PURPOSE, token_prefix(refresh))):
                sealed.append({"owner": owner, "purpose": purpose, "updated_at": now,
                               "ciphertext": envelope.seal_secret(dek, owner, purpose,
                                                                  value.encode())})
            ids.append({"owner": owner, "hash_sha512": refresh_token_hash(refresh),
                        "prefix_mac": envelope.prefix_mac(keyring.primary_key,
                                                          token_prefix(refresh)),
                        "mac_kek_id": keyring.primary_id})
        with engine.begin() as conn:
            conn.execute(data_keys.insert(), keys)
            conn.execute(secrets_table.insert(), sealed)
            conn.execute(token_ids.insert(), ids)


def check_seed(engine: Any, keyring: Any, owners: int) -> None:
    """The seeded rows read back through SqlTokenStore (they are what it would have written)."""
    from token_store import SqlTokenStore

    with engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        for i in range(0, owners, max(1, owners // 20)):
            owner = f"connection:conn_{i:08d}"
            token = store.get(owner, "refresh_token")
            if token is None or store.owners_by_token_prefix(token.decode()[:16]) != [owner]:
                raise RuntimeError(f"seeded row of {owner} does not read back")


def measure(connections: int) -> dict[str, Any]:
    from gmail_oneclick.adapters.storage.tables import make_engine
    from token_store import Keyring, rotate_keys

    old = common.keyring_text("k1")
    with common.fresh_database() as db:
        engine = make_engine(db)
        seed_start = time.perf_counter()
        seed(engine, Keyring.parse(old), connections)
        check_seed(engine, Keyring.parse(old), connections)
        seed_seconds = time.perf_counter() - seed_start
        keyring = Keyring.parse(common.keyring_text("k2") + "," + old)
        start = time.perf_counter()
        result = rotate_keys(engine, keyring)
        seconds = time.perf_counter() - start
        again = rotate_keys(engine, keyring)  # a rerun finds nothing left to do
        engine.dispose()
    rows = result.rewrapped + connections  # every owner also had one prefix MAC re-computed
    return {
        "connections": connections, "rewrapped": result.rewrapped,
        "remaining_after": again.rewrapped, "seconds": round(seconds, 2),
        "data_keys_per_s": round(result.rewrapped / seconds, 1),
        "rows_per_s": round(rows / seconds, 1), "seed_seconds": round(seed_seconds, 1),
        "target_data_keys_per_s": TARGET_KEYS_PER_S,
    }


def main() -> None:
    f = measure(common.size(__doc__ or "", "connections", default=100_000, quick=200))
    common.table(f"Key rotation over {f['connections']} connections", [
        ("data keys re-wrapped per second", f["data_keys_per_s"],
         f"target >= {TARGET_KEYS_PER_S:,}/s: "
         + ("met" if f["data_keys_per_s"] >= TARGET_KEYS_PER_S else "NOT met")),
        ("rows per second", f["rows_per_s"], "data keys + prefix MACs"),
        ("data keys re-wrapped", f["rewrapped"], f"of {f['connections']}"),
        ("left for a second run", f["remaining_after"], "should be 0"),
        ("seconds", f["seconds"], ""),
    ])
    common.emit("rotation_rate", f)


if __name__ == "__main__":
    main()
