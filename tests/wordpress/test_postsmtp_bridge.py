"""The Post SMTP bridge (wordpress/gmail-oneclick-postsmtp-bridge.php, in mu-plugins), inside a
real WordPress: Post SMTP's one relay request goes to the service with the site's key, and
nothing else the site sends is touched.

``POST_SMTP_SEND`` below is what Post SMTP 3.x's Gmail One-Click transport does: a JSON body of
the base64url message, its header block and the site URL, posted with ``wp_remote_post`` to the
hard-coded relay, then either the WP_Error's message or ``data`` of a 200 answer.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.wordpress.conftest import Service, connect_through_google

RELAY = "https://connect.postmansmtp.com/wp-json/gmail-oauth/v1/send-email"
ACCOUNT = "owner@gmail.example"
MESSAGE = (
    f"From: Example Blog <{ACCOUNT}>\r\n"
    "To: reader@example.org\r\n"
    "Subject: Your comment was published\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "Thank you for writing.\r\n"
).encode()

# Records, for every request, what the filters before it decided: "untouched" means WordPress
# went on to send it itself (the harness blocks outside hosts, so nothing leaves the machine).
RECORDER = """
$GLOBALS['seen'] = [];
add_filter('pre_http_request', function ($pre, $args, $url) {
    $GLOBALS['seen'][] = ['url' => $url, 'method' => $args['method'],
        'outcome' => false === $pre ? 'untouched'
            : (is_wp_error($pre) ? 'error:' . $pre->get_error_code() : 'answered')];
    return $pre;
}, PHP_INT_MAX, 3);
"""

POST_SMTP_SEND = """
function post_smtp_send(string $url, string $message): array {
    $header = substr($message, 0, strpos($message, "\\r\\n\\r\\n"));
    $payload = ['message' => rtrim(strtr(base64_encode($message), '+/', '-_'), '='),
                'headers' => $header, 'site_url' => get_site_url()];
    $response = wp_remote_post($url, ['method' => 'POST', 'body' => wp_json_encode($payload),
        'headers' => ['Content-Type' => 'application/json'], 'timeout' => 30]);
    if (is_wp_error($response)) {
        return ['error' => $response->get_error_message(),
                'code' => $response->get_error_code()];
    }
    $result = json_decode(wp_remote_retrieve_body($response), true);
    return ['status' => wp_remote_retrieve_response_code($response),
            'data' => $result['data'] ?? null];
}
"""


def run_in_wordpress(service: Service, code: str) -> dict[str, Any]:
    """Run ``code`` (which sets $out) in the WordPress; $out and the recorded requests."""
    printed = service.wordpress.php(
        RECORDER + POST_SMTP_SEND + code + "\necho wp_json_encode(['out' => $out, "
        "'seen' => $GLOBALS['seen']]);").stdout
    result: dict[str, Any] = json.loads(printed)
    return result


def send_as_post_smtp(service: Service, url: str = RELAY, message: bytes = MESSAGE
                      ) -> dict[str, Any]:
    literal = base64.b64encode(message).decode()
    return run_in_wordpress(service, f"$out = post_smtp_send('{url}', "
                                     f"base64_decode('{literal}'));")


def connect_account(service: Service) -> None:
    created = service.api("POST", "/v1/connections", json={
        "return_url": service.wordpress.admin_url("options-general.php?page=gmail-oneclick")})
    assert created.status_code == 201, created.text
    back = connect_through_google(requests.Session(), created.json()["connect_url"], ACCOUNT)
    assert "gmail_oneclick=connected" in back


def forget_settings(service: Service) -> None:
    service.wordpress.php("delete_option('gmail_oneclick_settings');")


def test_post_smtps_send_reaches_gmail_through_the_service(service: Service) -> None:
    connect_account(service)
    result = send_as_post_smtp(service)
    sent = service.gmail.sent
    assert len(sent) == 1
    assert sent[0].raw == MESSAGE
    assert sent[0].email == ACCOUNT
    # Post SMTP reads data.id of a 200 answer as the relay's.
    assert result["out"] == {"status": 200, "data": {"id": sent[0].id,
                                                       "threadId": sent[0].thread_id}}
    assert [s["outcome"] for s in result["seen"] if s["url"] == RELAY] == ["answered"]


def test_the_wp_config_constants_win_over_the_saved_settings(service: Service) -> None:
    connect_account(service)
    service.wordpress.php("""update_option('gmail_oneclick_settings', [
        'service_url' => 'http://127.0.0.1:9', 'api_key' => 'goc_not_this_one']);""")
    service.wordpress.set_extra_config(
        f"define('GMAIL_ONECLICK_SERVICE_URL', '{service.url}/');\n"
        f"define('GMAIL_ONECLICK_API_KEY', '{service.site.api_key}');")
    result = send_as_post_smtp(service)
    assert result["out"]["status"] == 200, result
    assert [m.raw for m in service.gmail.sent] == [MESSAGE]


def test_a_refusal_by_the_service_reaches_post_smtp_as_a_readable_error(
        service: Service) -> None:
    result = send_as_post_smtp(service)  # no Gmail account connected yet
    assert result["out"]["code"] == "connection_required"
    assert "no Gmail account is connected to this site yet" in result["out"]["error"]
    assert service.gmail.sent == []


def test_without_configuration_the_message_is_refused_and_goes_nowhere(
        service: Service) -> None:
    connect_account(service)
    forget_settings(service)
    result = send_as_post_smtp(service)
    assert result["out"]["code"] == "gmail_oneclick_not_configured"
    assert "GMAIL_ONECLICK_API_KEY" in result["out"]["error"]
    assert "not sent" in result["out"]["error"]
    # Refused before WordPress could send it anywhere, the old relay included.
    assert result["seen"] == [{"url": RELAY, "method": "POST",
                               "outcome": "error:gmail_oneclick_not_configured"}]
    assert service.gmail.sent == []


def test_a_plain_http_service_url_off_this_machine_is_refused(service: Service) -> None:
    connect_account(service)
    service.wordpress.php(f"""update_option('gmail_oneclick_settings', [
        'service_url' => 'http://mail.example.com', 'api_key' => '{service.site.api_key}']);""")
    result = send_as_post_smtp(service)
    assert result["out"]["code"] == "gmail_oneclick_insecure_url"
    assert [s["url"] for s in result["seen"]] == [RELAY]
    assert service.gmail.sent == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_other_methods_to_the_relay_url_are_not_rewritten(service: Service, method: str) -> None:
    connect_account(service)
    result = run_in_wordpress(service, f"""
        $r = wp_remote_request('{RELAY}', ['method' => '{method}']);
        $out = is_wp_error($r) ? $r->get_error_code() : wp_remote_retrieve_response_code($r);
    """)
    assert result["seen"] == [{"url": RELAY, "method": method, "outcome": "untouched"}]
    assert result["out"] == "http_request_not_executed"  # the harness's block, not ours
    assert service.gmail.sent == []


@pytest.mark.parametrize("url", [
    "https://connect.postmansmtp.com/wp-json/gmail-oauth/v1/other",
    "https://connect.postmansmtp.com/wp-json/gmail-oauth/v1/send-email/extra",
    "http://connect.postmansmtp.com/wp-json/gmail-oauth/v1/send-email",
    "https://connect.postmansmtp.com:8443/wp-json/gmail-oauth/v1/send-email",
    "https://connect.postmansmtp.com.example.net/wp-json/gmail-oauth/v1/send-email",
])
def test_posts_to_anything_but_the_relay_send_are_not_rewritten(service: Service,
                                                                 url: str) -> None:
    connect_account(service)
    result = send_as_post_smtp(service, url)
    assert result["seen"] == [{"url": url, "method": "POST", "outcome": "untouched"}]
    assert service.gmail.sent == []


class Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data": {"id": "elsewhere"}}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_post_smtp_shaped_request_to_another_url_arrives_untouched(
        service: Service, loopback_server: tuple[str, list[dict[str, Any]]]) -> None:
    connect_account(service)
    url, received = loopback_server
    target = url + "/wp-json/gmail-oauth/v1/send-email"
    result = send_as_post_smtp(service, target)
    assert result["out"] == {"status": 200, "data": {"id": "elsewhere"}}
    assert len(received) == 1
    request = received[0]
    assert request["path"] == "/wp-json/gmail-oauth/v1/send-email"
    assert not any(name.lower() == "authorization" for name in request["headers"])
    assert service.site.api_key.encode() not in request["body"]
    body = json.loads(request["body"])
    assert base64.urlsafe_b64decode(body["message"] + "==") == MESSAGE
    assert service.gmail.sent == []


def test_a_lost_answer_tells_post_smtp_the_message_may_have_been_sent(service: Service) -> None:
    connect_account(service)
    service.gmail.inject_fault("drop_after_accept")
    result = send_as_post_smtp(service)
    assert result["out"]["code"] == "delivery_unknown"
    assert "may have been sent" in result["out"]["error"]
    assert "not sent" not in result["out"]["error"]
    assert [m.raw for m in service.gmail.sent] == [MESSAGE]
