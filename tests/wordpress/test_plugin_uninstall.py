"""Deleting the plugin disconnects every connection (the grants end at Google) and leaves no
option, transient or table behind."""

from __future__ import annotations

from tests.wordpress.conftest import PLUGIN_FILE, Service
from tests.wordpress.plugin_flow import connect, wp_mail


def test_uninstall_revokes_every_grant_and_removes_its_data(service: Service) -> None:
    session = service.wordpress.login()
    connect(service, session, "alice@example.com")
    connect(service, session, "bob@example.com")
    assert len(service.sandbox.live_grants()) == 2
    assert wp_mail(service.wordpress, "ada@example.org", "Hi", "body",
                   "From: alice@example.com").sent  # a log row and a cached list exist
    # Two requests, as on the Plugins screen: uninstall.php runs with the plugin not loaded.
    service.wordpress.php(f"deactivate_plugins('{PLUGIN_FILE}');")
    service.wordpress.php(f"uninstall_plugin('{PLUGIN_FILE}');")
    assert service.sandbox.live_grants() == []
    assert {(c["status"], c["revocation_reason"]) for c in service.connections()} == {
        ("reconnect_required", "disconnected")}
    leftovers = service.wordpress.db.sql(
        "SELECT option_name FROM wordpress.wp_options WHERE option_name LIKE '%gmail_oneclick%'")
    assert leftovers.stdout.strip() == ""
    tables = service.wordpress.db.sql("SHOW TABLES FROM wordpress LIKE 'wp_gmail_oneclick%'")
    assert tables.stdout.strip() == ""
    assert not service.wordpress.plugin_active()
