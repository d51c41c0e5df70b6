"""A real headless Chromium (Debian's, never a downloaded build) clicking through the consent
flow against the service, the Google sandbox and a stand-in WordPress page, all served over
real HTTP on 127.0.0.1. Every page visited is kept as a screenshot in
test-output/screenshots/<test>-<step>.png (the browser and tab fixtures: tests/browsing.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from gmail_oneclick.settings import Settings
from tests.browsing import Tab
from tests.conftest import RegisteredSite, register_site
from tests.live import LiveServer, wordpress_stub

SITE_NAME = "Example Blog"
RETURN_PATH = "/wp-admin/options-general.php?page=gmail"
__all__ = ["SITE_NAME", "Live", "Tab"]


@dataclass
class Live:
    """The service, the sandbox and the WordPress stub, each on its own loopback port."""

    url: str
    wordpress: str
    sandbox: Any
    container: Any
    site: RegisteredSite

    @property
    def return_url(self) -> str:
        return self.wordpress + RETURN_PATH

    def new_link(self, site: RegisteredSite | None = None, **extra: Any) -> str:
        """What the plugin does: POST /v1/connections with its bearer key; the connect_url."""
        response = requests.post(
            self.url + "/v1/connections", json={"return_url": self.return_url, **extra},
            headers=(site or self.site).auth, timeout=5,
        )
        assert response.status_code == 201, response.text
        url: str = response.json()["connect_url"]
        return url

    def connections(self) -> list[dict[str, Any]]:
        response = requests.get(self.url + "/v1/connections", headers=self.site.auth, timeout=5)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["connections"]
        return listed


@pytest.fixture
def live(database_url: str, keyring_text: str, sandbox: Any, tmp_path: Path) -> Iterator[Live]:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app
    from gmail_oneclick.sandbox import sandbox_urls

    wordpress = LiveServer().serve(wordpress_stub())
    service = LiveServer()
    settings = Settings(
        database_url=database_url,
        encryption_keys=keyring_text,
        public_url=service.url,
        google_client_id=sandbox.state.client_id,
        google_client_secret=sandbox.state.client_secret,
        instance_path=str(tmp_path / "instance"),
        http_timeout=5.0,
        **sandbox_urls(sandbox.url),
    )
    app = create_app(settings)
    service.serve(app)
    container = app.extensions[EXTENSION]
    site = register_site(container, name=SITE_NAME, origin=wordpress.url)
    try:
        yield Live(service.url, wordpress.url, sandbox, container, site)
    finally:
        service.stop()
        wordpress.stop()
        container.engine.dispose()
