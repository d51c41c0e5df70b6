"""The Alembic history builds exactly the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gmail_oneclick.adapters.storage.migrate import upgrade
from gmail_oneclick.adapters.storage.tables import all_metadata, make_engine


def test_upgrade_creates_every_declared_table(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    declared = {t for md in all_metadata() for t in md.tables}
    assert declared <= tables


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, all_metadata())
    finally:
        engine.dispose()
    assert diff == [], f"db.py / token_store and the migrations disagree: {diff}"


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    again = upgrade(database_url, sandbox=False)
    assert again["upgraded"] is False
    assert again["to"] == again["from"]
