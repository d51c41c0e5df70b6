"""Everything a database holds, as bytes, so tests can prove a secret or a canary is not there.

SQLite: the raw bytes of the file, its WAL and shared-memory index (free pages included).
PostgreSQL: every value of every row of every table (on disk, deleted tuples wait for VACUUM:
see docs/SECURITY.md).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, select


def database_bytes(engine: Engine) -> bytes:
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        files = (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        return b"".join(p.read_bytes() for p in files if p.exists())
    meta = MetaData()
    meta.reflect(engine)
    parts: list[bytes] = []
    with engine.connect() as conn:
        for table in meta.tables.values():
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\x00".join(parts)
