"""The settings screen's forms: who may use them, their nonces, and what each one does."""

from __future__ import annotations

import json
import secrets

import requests

from tests.wordpress.conftest import Service
from tests.wordpress.plugin_flow import (
    SETTINGS,
    connect,
    form,
    post_action,
    results,
    settings_page,
    texts,
)


def _subscriber(service: Service) -> tuple[requests.Session, str]:
    user = "sub" + secrets.token_hex(4)
    return service.wordpress.login(user, service.wordpress.add_user(user, "subscriber")), user


def _own_nonce(service: Service, session: requests.Session, user: str, action: str) -> str:
    """A valid nonce of ``user``'s own login session: only the capability check stops them."""
    cookie = next(c.value for c in session.cookies if c.name.startswith("wordpress_logged_in"))
    return service.wordpress.php(f"""
        $_COOKIE[LOGGED_IN_COOKIE] = rawurldecode('{cookie}');
        wp_set_current_user(get_user_by('login', '{user}')->ID);
        echo wp_create_nonce('{action}');
    """, user=0).stdout


def _follow(service: Service, session: requests.Session, response: requests.Response) -> str:
    """The settings screen an action redirected back to."""
    assert response.status_code in (302, 303), response.text[:300]
    assert response.headers["Location"].endswith(SETTINGS)
    return settings_page(service.wordpress, session)


def test_a_subscriber_can_neither_see_nor_use_the_settings(service: Service) -> None:
    wordpress = service.wordpress
    subscriber, user = _subscriber(service)
    page = subscriber.get(wordpress.admin_url(SETTINGS), timeout=30)
    assert page.status_code == 403
    for action in ("gmail_oneclick_connect", "gmail_oneclick_test_send",
                   "gmail_oneclick_disconnect", "gmail_oneclick_default"):
        fields = {"action": action, "_wpnonce": _own_nonce(service, subscriber, user, action),
                  "to": "x@example.org", "confirm": "1", "default_connection": "conn_x"}
        refused = subscriber.post(wordpress.admin_url("admin-post.php"), data=fields,
                                  allow_redirects=False, timeout=30)
        assert refused.status_code == 403, action
        assert "not allowed to manage Gmail one-click" in refused.text
    saved = subscriber.post(wordpress.admin_url("options.php"), timeout=30, data={
        "option_page": "gmail_oneclick", "action": "update",
        "gmail_oneclick_settings[service_url]": "https://evil.example"})
    assert saved.status_code == 403
    assert "evil.example" not in wordpress.php(
        "echo get_option('gmail_oneclick_settings')['service_url'];").stdout


def test_actions_without_a_valid_nonce_are_refused(service: Service) -> None:
    session = service.wordpress.login()
    for action in ("gmail_oneclick_connect", "gmail_oneclick_test_send",
                   "gmail_oneclick_disconnect", "gmail_oneclick_default"):
        response = session.post(service.wordpress.admin_url("admin-post.php"), timeout=30,
                                data={"action": action, "_wpnonce": "0123456789",
                                      "to": "x@example.org", "connection_id": "conn_x",
                                      "confirm": "1", "default_connection": "conn_x"},
                                allow_redirects=False)
        assert response.status_code == 403, action
    assert service.gmail.sent == []


def test_the_test_email_goes_to_the_admin_by_default(service: Service) -> None:
    session = service.wordpress.login()
    connect(service, session, "alice@example.com")
    page = settings_page(service.wordpress, session)
    assert form(page, "gmail_oneclick_test_send")["to"] == "admin@blog.example.com"
    landing = _follow(service, session, post_action(service.wordpress, session,
                                                    "gmail_oneclick_test_send"))
    assert results(landing) == [
        "The test email was sent through Gmail from alice@example.com. "
        "Check the inbox you sent it to."]
    (sent,) = service.gmail.sent
    assert sent.email == "alice@example.com"
    assert b"\r\nTo: admin@blog.example.com\r\n" in sent.raw


def test_a_failed_test_email_says_why(service: Service) -> None:
    session = service.wordpress.login()
    connect(service, session, "alice@example.com")
    service.gmail.inject_fault("503", 3)
    landing = _follow(service, session, post_action(service.wordpress, session,
                                                    "gmail_oneclick_test_send"))
    assert results(landing) == [
        "The test email was not sent. Gmail or the Gmail one-click service is unavailable right "
        "now, so the message was not sent. Try again in a few minutes."]


def test_disconnect_needs_the_box_ticked_then_revokes(service: Service) -> None:
    session = service.wordpress.login()
    connection_id, _ = connect(service, session, "alice@example.com")
    unticked = _follow(service, session, post_action(service.wordpress, session,
                                                     "gmail_oneclick_disconnect"))
    assert results(unticked) == [
        "Nothing was disconnected: tick the box that confirms it, then click Disconnect again."]
    assert service.connections()[0]["status"] == "connected"
    done = _follow(service, session, post_action(service.wordpress, session,
                                                 "gmail_oneclick_disconnect", confirm="1"))
    assert results(done) == [
        "The account was disconnected and its Google access revoked. This site no longer sends "
        "from it."]
    (gone,) = service.connections()
    assert (gone["id"], gone["status"], gone["revocation_reason"]) == (
        connection_id, "reconnect_required", "disconnected")
    assert texts(done, "gmail-oneclick-account") == []  # no longer listed
    # The service's connection.revoked (reason: disconnected) raises no alarm on any screen.
    assert service.deliver_webhooks()["delivered"] == 2
    dashboard = session.get(service.wordpress.admin_url("index.php"), timeout=30).text
    assert texts(dashboard, "gmail-oneclick-revoked-notice") == []


def test_the_default_account_is_chosen_on_the_screen(service: Service) -> None:
    session = service.wordpress.login()
    connect(service, session, "alice@example.com")
    bob, _ = connect(service, session, "bob@example.com")
    landing = _follow(service, session, post_action(
        service.wordpress, session, "gmail_oneclick_default", default_connection=bob))
    assert results(landing) == [
        "Saved: messages whose From address matches no connected account now go through the "
        "chosen account."]
    assert service.wordpress.php(
        "echo Gmail_OneClick_Settings::default_connection();").stdout == bob


def _save_settings(service: Service, session: requests.Session, **values: str) -> str:
    page = settings_page(service.wordpress, session)
    fields = form(page, "update") | {f"gmail_oneclick_settings[{k}]": v for k, v in values.items()}
    saved = session.post(service.wordpress.admin_url("options.php"), data=fields, timeout=30)
    assert saved.status_code == 200
    return saved.text


def test_saving_blank_secrets_keeps_them_and_a_plain_http_url_is_refused(service: Service) -> None:
    session = service.wordpress.login()
    page = _save_settings(service, session, service_url="http://mail.example.com",
                          api_key="", webhook_secret="")
    assert "The service URL was not saved" in page
    stored = json.loads(service.wordpress.php(
        "echo json_encode(get_option('gmail_oneclick_settings'));").stdout)
    assert (stored["service_url"], stored["api_key"], stored["webhook_secret"]) == (
        service.url, service.site.api_key, service.site.webhook_secret)
    assert service.site.api_key not in page and service.site.webhook_secret not in page


def test_constants_in_wp_config_win_and_are_read_only(service: Service) -> None:
    service.wordpress.set_extra_config(
        f"define('GMAIL_ONECLICK_SERVICE_URL', '{service.url}');\n"
        f"define('GMAIL_ONECLICK_API_KEY', '{service.site.api_key}');")
    service.wordpress.php("update_option('gmail_oneclick_settings', ['service_url' => "
                          "'https://elsewhere.example', 'api_key' => 'gok_stale-key-000000']);")
    session = service.wordpress.login()
    page = settings_page(service.wordpress, session)
    assert "Set by GMAIL_ONECLICK_API_KEY in wp-config.php (read-only here)." in page
    assert 'name="gmail_oneclick_settings[api_key]"' not in page
    assert service.site.api_key not in page
    assert texts(page, "gmail-oneclick-service-error") == []  # the constant's key works


def _set(service: Service, name: str, value: str) -> None:
    service.wordpress.php(f"""$s = get_option('gmail_oneclick_settings');
        $s['{name}'] = '{value}'; update_option('gmail_oneclick_settings', $s);""")


def test_service_problems_are_explained_on_the_screen(service: Service) -> None:
    session = service.wordpress.login()
    _set(service, "api_key", "goc_not-the-right-key-000")
    page = settings_page(service.wordpress, session)
    assert texts(page, "gmail-oneclick-service-error") == [
        "The service refused this site’s API key. Check the key below (or "
        "GMAIL_ONECLICK_API_KEY in wp-config.php) and save again."]
    _set(service, "service_url", "http://127.0.0.1:9")
    (down,) = texts(settings_page(service.wordpress, session), "gmail-oneclick-service-error")
    assert down.startswith("The Gmail one-click service could not be reached (")
    assert down.endswith("Check the service URL below and that the service is running, then "
                         "reload this page.")
    service.wordpress.php("delete_option('gmail_oneclick_settings');")
    assert texts(settings_page(service.wordpress, session), "gmail-oneclick-service-error") == [
        "Enter the service URL and the site API key below (or define them in wp-config.php), "
        "then save."]
