"""The plugin in a real WordPress: activation, its table, its settings screen and who may use it."""

from __future__ import annotations

from tests.wordpress.conftest import Service

SETTINGS = "options-general.php?page=gmail-oneclick"


def test_activation_creates_the_send_log_table(service: Service) -> None:
    wordpress = service.wordpress
    assert wordpress.plugin_active()
    tables = wordpress.db.sql("SHOW TABLES FROM wordpress LIKE 'wp_gmail_oneclick_%'")
    assert "wp_gmail_oneclick_log" in tables.stdout.split()


def test_settings_screen_shows_the_webhook_url_and_no_stored_secret(service: Service) -> None:
    page = service.wordpress.login().get(service.wordpress.admin_url(SETTINGS), timeout=20)
    assert page.status_code == 200
    assert service.wordpress.url + "/wp-json/gmail-oneclick/v1/webhook" in page.text
    assert 'id="gmail-oneclick-connections"' in page.text
    assert service.site.api_key not in page.text
    assert service.site.webhook_secret not in page.text
    assert "stored — leave blank to keep" in page.text
