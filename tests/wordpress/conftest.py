"""Fixtures for the WordPress plugin's tests, all real parts on loopback:

- ``wordpress`` (one per test session): Debian's WordPress with its own wp-config.php on a
  throwaway MariaDB, served by ``php -S``; the plugin copied from ``wordpress/gmail-oneclick``
  and the Post SMTP bridge into mu-plugins. ``wordpress.php(code)`` runs PHP inside it as the
  admin and returns what it printed; ``wordpress.login()`` is a logged-in ``requests`` session;
  ``wordpress.debug_log_lines()`` is WordPress's debug.log (PHP notices land there).
- ``service`` (one per test): the gmail-oneclick service in sandbox mode (its Google emulator
  mounted at ``/_sandbox``), with a fresh database, on its own port; the WordPress registered
  as a site whose webhook URL is the plugin's REST route; the plugin active, its state reset and
  configured with the service's URL, the site's API key and webhook secret.
  ``service.deliver_webhooks()`` runs the webhook outbox once (the checker's job);
  ``service.gmail.sent`` is what the emulated Gmail received, raw bytes included.
- ``connect_through_google(session, connect_url, email)``: a person clicking through the
  service's connect page and the emulated Google consent; returns where the browser lands.

The machine needs ``php``, ``mariadb-server`` and ``wordpress`` (scripts/system-deps.sh installs
them as root); without them these tests skip, and fail in CI (``CI`` set) so a missing install
step cannot hide.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.settings import Settings
from tests.conftest import RegisteredSite, mark_database, register_site
from tests.live import LiveServer
from tests.wordpress.wp import (
    BRIDGE_SOURCE,
    PLUGIN_FILE,
    WordPress,
    missing_parts,
    start_wordpress,
    stop_wordpress,
)

SITE_NAME = "Example Blog"
WEBHOOK_ROUTE = "/wp-json/gmail-oneclick/v1/webhook"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# PHP notices and warnings that come from our plugin or bridge, in WordPress's debug.log.
OUR_PHP_PROBLEM = re.compile(r"PHP (Notice|Warning|Deprecated|Fatal error|Parse error).*"
                             r"gmail-oneclick", re.IGNORECASE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.wordpress)


@pytest.fixture(scope="session")
def wordpress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    missing = missing_parts()
    if missing:
        reason = (f"a real WordPress needs {', '.join(missing)} "
                  "(scripts/system-deps.sh installs them as root)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    site = start_wordpress(tmp_path_factory.mktemp("wp"))
    if BRIDGE_SOURCE.exists():
        shutil.copy(BRIDGE_SOURCE, site.mu_plugins_dir / BRIDGE_SOURCE.name)
    try:
        yield site
    finally:
        stop_wordpress(site)


@pytest.fixture
def php_clean(wordpress: WordPress) -> Iterator[None]:
    """Fails the test when our PHP code wrote a notice, warning or error to debug.log."""
    before = len(wordpress.debug_log_lines())
    yield
    new = wordpress.debug_log_lines()[before:]
    ours = [line for line in new if OUR_PHP_PROBLEM.search(line)]
    assert not ours, "PHP problems in the plugin:\n" + "\n".join(ours[:20])


@dataclass
class Service:
    """The gmail-oneclick service in sandbox mode, with the WordPress registered as its site."""

    url: str
    container: Any
    site: RegisteredSite
    wordpress: WordPress

    @property
    def sandbox(self) -> Any:
        """The emulated Google's state (accounts, grants, tokens)."""
        return self.container.sandbox

    @property
    def gmail(self) -> Any:
        """The emulated Gmail: ``.sent`` (SentMessage list, raw bytes included), faults."""
        from gmail_oneclick.sandbox.gmail_state import gmail_state

        return gmail_state(self.sandbox)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the service's API with the site's key, as the plugin makes it."""
        return requests.request(method, self.url + path, headers=self.site.auth, timeout=10,
                                **kwargs)

    def connections(self) -> list[dict[str, Any]]:
        response = self.api("GET", "/v1/connections")
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["connections"]
        return listed

    def deliver_webhooks(self) -> dict[str, int]:
        """Post every due webhook now (what the checker does every few seconds)."""
        from gmail_oneclick.services import webhooks

        counts = webhooks.deliver_due(
            self.container.uow, self.container.webhook_transport, self.container.clock,
            lease_owner="wordpress-tests", concurrency=1)
        return {"delivered": counts.delivered, "retried": counts.retried,
                "failed": counts.failed}


@pytest.fixture
def service(wordpress: WordPress, database_url: str, tmp_path: Path,
            php_clean: None) -> Iterator[Service]:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    server = LiveServer()
    mark_database(database_url, "sandbox")  # as `make run` migrates it
    settings = Settings(
        database_url=database_url, public_url=server.url, sandbox=True,
        instance_path=str(tmp_path / "instance"), http_timeout=5.0,
        webhook_dispatch_threads=0,  # webhooks go out when a test calls deliver_webhooks()
    )
    app = create_app(settings)
    server.serve(app)
    container = app.extensions[EXTENSION]
    site = register_site(container, name=SITE_NAME, origin=wordpress.url,
                         webhook_url=wordpress.url + WEBHOOK_ROUTE)
    wordpress.set_extra_config("")
    wordpress.install_plugin_source()
    if not wordpress.plugin_active():
        wordpress.activate_plugin()
    wordpress.reset_plugin_state()
    configure_plugin(wordpress, server.url, site)
    try:
        yield Service(server.url, container, site, wordpress)
    finally:
        server.stop()
        container.engine.dispose()


def configure_plugin(wordpress: WordPress, url: str, site: RegisteredSite) -> None:
    """What an admin does in the settings screen, stored directly: URL, key, webhook secret."""
    wordpress.php(f"""
        update_option('gmail_oneclick_settings', [
            'service_url' => '{url}', 'api_key' => '{site.api_key}',
            'webhook_secret' => '{site.webhook_secret}', 'default_connection' => '',
        ]);
    """)


def connect_through_google(session: requests.Session, connect_url: str, email: str,
                           *, grant_gmail_send: bool = True) -> str:
    """Open the service's connect page, press "Continue with Google", allow at the emulated
    Google (as ``email``), let the service's callback run; returns the URL the service sends the
    browser back to (the plugin's return URL with the result), without opening it."""
    page = session.get(connect_url, timeout=10)
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token is not None, "no CSRF field on the connect page"
    to_google = session.post(connect_url, data={"csrf_token": token.group(1)},
                             allow_redirects=False, timeout=10)
    assert to_google.status_code in (302, 303), to_google.text
    callback = approve_consent(session, urljoin(connect_url, to_google.headers["Location"]),
                               email, grant_gmail_send=grant_gmail_send)
    back = session.get(callback, allow_redirects=False, timeout=10)
    assert back.status_code == 303, back.text
    return urljoin(callback, back.headers["Location"])


__all__ = ["PLUGIN_FILE", "Service", "connect_through_google"]
