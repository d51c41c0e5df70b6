"""After purge + commit + checkpoint, the SQLite files hold no byte of the purged secrets.

The scans read the database file and its write-ahead log straight from disk. Each test
first proves its scan can see the bytes (they are there before the purge), and the
control tests show what is left behind without the checkpoint or without secure_delete.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from token_store import SqlTokenStore, checkpoint, make_engine, metadata, refresh_token_hash
from token_store.sql import data_keys, secrets_table

OWNER = "connection:conn_purged"
BYSTANDER = "connection:conn_kept"
PLAINTEXT = b"1//0gPURGE-ME-recognisable-refresh-token-plaintext-0123456789"


def files_bytes(db_path: Path) -> bytes:
    wal = Path(f"{db_path}-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def write_secrets(engine, keyring) -> dict[str, bytes]:
    """Store the owner's token beside a bystander's; return the bytes to hunt for."""
    with engine.connect() as conn:
        store = SqlTokenStore(conn, keyring)
        store.put(BYSTANDER, "refresh_token", b"1//0gbystander-token")
        store.put(OWNER, "refresh_token", PLAINTEXT)
        store.index_refresh_token(OWNER, PLAINTEXT.decode())
        conn.commit()
        ciphertext = conn.execute(
            select(secrets_table.c.ciphertext).where(
                secrets_table.c.owner == OWNER, secrets_table.c.purpose == "refresh_token"
            )
        ).scalar_one()
        wrapped = conn.execute(
            select(data_keys.c.wrapped_key).where(data_keys.c.owner == OWNER)
        ).scalar_one()
    return {
        "plaintext": PLAINTEXT,
        # 24 bytes from the middle: long enough never to occur by chance
        "ciphertext": bytes(ciphertext)[20:44],
        "wrapped data key": bytes(wrapped)[13:37],
        "token hash": refresh_token_hash(PLAINTEXT.decode()).encode(),
    }


def purge(engine, keyring) -> None:
    with engine.connect() as conn:
        assert SqlTokenStore(conn, keyring).purge(OWNER) == 4
        conn.commit()


def found(needles: dict[str, bytes], haystack: bytes) -> list[str]:
    return [name for name, needle in needles.items() if needle in haystack]


def test_purge_commit_checkpoint_leaves_no_secret_bytes_on_disk(tmp_path, keyring):
    db_path = tmp_path / "tokens.sqlite"
    engine = make_engine(f"sqlite:///{db_path}")
    metadata.create_all(engine)
    needles = write_secrets(engine, keyring)
    assert found(needles, files_bytes(db_path)) == ["ciphertext", "wrapped data key", "token hash"]

    purge(engine, keyring)
    assert checkpoint(engine) is True

    assert Path(f"{db_path}-wal").stat().st_size == 0
    assert found(needles, files_bytes(db_path)) == []
    with engine.connect() as conn:
        kept = SqlTokenStore(conn, keyring).get(BYSTANDER, "refresh_token")
    assert kept == b"1//0gbystander-token"
    engine.dispose()


def test_without_a_checkpoint_the_wal_still_holds_the_purged_bytes(tmp_path, keyring):
    db_path = tmp_path / "tokens.sqlite"
    engine = make_engine(f"sqlite:///{db_path}")
    metadata.create_all(engine)
    needles = write_secrets(engine, keyring)
    purge(engine, keyring)
    wal = Path(f"{db_path}-wal").read_bytes()
    assert "ciphertext" in found(needles, wal)
    engine.dispose()


def test_without_secure_delete_the_database_file_keeps_the_purged_bytes(tmp_path, keyring):
    db_path = tmp_path / "tokens.sqlite"
    engine = make_engine(f"sqlite:///{db_path}")

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def insecure(dbapi_connection, _record):  # runs after make_engine's own pragmas
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    metadata.create_all(engine)
    needles = write_secrets(engine, keyring)
    purge(engine, keyring)
    assert checkpoint(engine) is True
    assert "ciphertext" in found(needles, files_bytes(db_path))
    engine.dispose()
