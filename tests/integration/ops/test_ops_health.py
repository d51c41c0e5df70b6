"""/healthz and /readyz as a load balancer and an orchestrator see them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine

from gmail_oneclick.entrypoints.web import create_app_from_container

# Nothing listens on port 1: the connection is refused at once, as when the server is down.
UNREACHABLE = "postgresql+psycopg://goc:s3cr3t@127.0.0.1:1/gmail_oneclick?connect_timeout=2"


@pytest.fixture
def app_without_database(container: Any) -> Iterator[Flask]:
    """The same service, but its engine points at a database server that is not there."""
    engine = create_engine(UNREACHABLE)
    try:
        yield create_app_from_container(replace(container, engine=engine))
    finally:
        engine.dispose()


def test_healthz_answers_ok_while_the_process_is_up(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_a_reachable_database_and_a_keyring(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready", "checks": {"database": "ok", "database_mode": "ok", "keyring": "ok"},
    }


def test_readyz_answers_503_naming_the_database_when_it_is_unreachable(
    app_without_database: Flask,
) -> None:
    response = app_without_database.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json() == {
        "status": "not_ready", "checks": {"database": "unreachable", "keyring": "ok"},
    }
    assert "s3cr3t" not in response.get_data(as_text=True)


def test_healthz_stays_ok_when_only_the_database_is_down(app_without_database: Flask) -> None:
    """Liveness must not restart a healthy process because a dependency is down."""
    assert app_without_database.test_client().get("/healthz").status_code == 200
