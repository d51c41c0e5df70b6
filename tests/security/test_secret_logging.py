"""An unexpected failure is logged without the request path's secrets (connect link tokens)."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from gmail_oneclick.observability.logs import JsonFormatter
from gmail_oneclick.services import consent
from tests.conftest import RegisteredSite


def test_an_unexpected_error_on_a_connect_link_does_not_log_its_token(
    client: Any, site: RegisteredSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = client.post("/v1/connections", headers=site.auth,
                       json={"return_url": "https://blog.example.com/wp-admin/"})
    token = made.get_json()["connect_url"].rsplit("/", 1)[1]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(consent, "open_link", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        response = client.get(f"/connect/{token}")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    logged = stream.getvalue()
    assert "unhandled error" in logged
    assert token not in logged
