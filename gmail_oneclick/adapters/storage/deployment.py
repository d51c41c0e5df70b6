"""Whether a database belongs to the bundled Google sandbox or to a real Google client.

The first ``db upgrade`` writes the mode of its settings into the one-row ``deployment`` table;
from then on either mode refuses the other's database. The sandbox mints its own tokens and
answers ``invalid_grant`` for every other one, so a sandbox started by accident on the real
database would purge every real connection at its first check; and a real client would send
the sandbox's tokens to Google.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from gmail_oneclick.adapters.storage.tables import deployment
from gmail_oneclick.settings import PREFIX, SettingsError

SANDBOX = "sandbox"
GOOGLE = "google"
UNMARKED = "unmarked"


class DatabaseModeError(SettingsError):
    """The database belongs to the other mode, or to none yet. The message is one line."""


def mode_of(sandbox: bool) -> str:
    return SANDBOX if sandbox else GOOGLE


def read_mode(conn: Connection) -> str:
    """The database's mode, or UNMARKED when it has no marker (never migrated by us)."""
    if not inspect(conn).has_table(deployment.name):
        return UNMARKED
    found = conn.execute(select(deployment.c.google_mode)).scalar()
    return str(found) if found else UNMARKED


def problem(found: str, expected: str) -> str | None:
    """The one line refusing ``found`` to a process of mode ``expected``; None when they match."""
    if found == expected:
        return None
    if found == UNMARKED:
        return "the database has no sandbox/Google marker: run 'gmail-oneclick db upgrade'"
    if found == SANDBOX:
        return (f"the database belongs to the bundled Google sandbox but {PREFIX}SANDBOX is off: "
                f"point {PREFIX}DATABASE_URL at the real service's database")
    return (f"the database belongs to a real Google client but {PREFIX}SANDBOX=1: the sandbox "
            f"would answer invalid_grant for its tokens and purge them; give it its own database")


def require_mode(engine: Engine, sandbox: bool) -> None:
    """Raise DatabaseModeError unless the database is marked with this process's mode."""
    with engine.connect() as conn:
        message = problem(read_mode(conn), mode_of(sandbox))
    if message:
        raise DatabaseModeError(message)


def refuse_other_mode(engine: Engine, sandbox: bool) -> None:
    """Before migrating: refuse a database marked for the other mode (an unmarked one is fine)."""
    with engine.connect() as conn:
        found = read_mode(conn)
    if found != UNMARKED:
        require_mode(engine, sandbox)


def claim(engine: Engine, sandbox: bool) -> str:
    """Mark an unmarked database with this mode (two racing upgrades: the first wins and the
    other is refused if it differs). Returns the mode."""
    values: dict[str, Any] = {"id": 1, "google_mode": mode_of(sandbox),
                              "created_at": datetime.now(UTC)}
    with engine.begin() as conn:
        # A database migrated before the marker existed (the one migration was edited in place
        # before the first release) gets the table here rather than staying refused for ever.
        deployment.create(conn, checkfirst=True)
        insert: Any = (postgresql.insert if conn.dialect.name == "postgresql"
                       else sqlite.insert)(deployment)
        conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["id"]))
    require_mode(engine, sandbox)
    return mode_of(sandbox)
