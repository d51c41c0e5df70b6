"""Alembic, driven from code: ``gmail-oneclick db upgrade`` and test fixtures use this."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from gmail_oneclick.adapters.storage import deployment as db_mode
from gmail_oneclick.adapters.storage.tables import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head", *, sandbox: bool) -> dict[str, Any]:
    """Migrate ``url`` to ``revision``; a new database is marked as the sandbox's or a real
    Google client's (``sandbox``). Returns {"from": rev|None, "to": rev, "upgraded", "mode"}.

    Raises DatabaseModeError, before changing anything, when the database is the other mode's.
    """
    engine = make_engine(url)
    try:
        db_mode.refuse_other_mode(engine, sandbox)
        before = current_revision(engine)
        config = alembic_config(url)
        config.attributes["engine"] = engine
        command.upgrade(config, revision)
        mode = db_mode.claim(engine, sandbox)
        after = current_revision(engine)
    finally:
        engine.dispose()
    return {"from": before, "to": after, "upgraded": before != after, "mode": mode}
