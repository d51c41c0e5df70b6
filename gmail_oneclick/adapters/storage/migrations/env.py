"""Alembic environment: online migrations only, on the engine the caller passes in."""

from __future__ import annotations

from alembic import context

from gmail_oneclick.adapters.storage.tables import all_metadata, make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(config.attributes["database_url"])

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=all_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
