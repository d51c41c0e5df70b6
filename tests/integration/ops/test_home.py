"""The landing page at / outside sandbox mode: what this is, its version, readiness in words,
the API reference, and nothing of the sandbox."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from tests.conftest import mark_database


def test_the_landing_page_names_version_readiness_and_the_api_reference(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "<h1>gmail-oneclick</h1>" in text
    assert f"Version {metadata.version('gmail-oneclick')} · Ready to serve" in text
    assert "The database answers." in text and "The encryption keyring is loaded." in text
    assert '<a href="/docs">API reference</a>' in text
    assert "/_demo" not in text and "_sandbox" not in text and "Sandbox mode" not in text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_the_landing_page_says_not_ready_as_readyz_does(client: Any, database_url: str) -> None:
    mark_database(database_url, "sandbox")  # as if another process re-made it for the sandbox
    assert client.get("/readyz").status_code == 503
    text = client.get("/").get_data(as_text=True)
    assert "Not ready" in text and "Ready to serve" not in text
    assert "The database was made for sandbox mode, but this process talks to real Google." in text
