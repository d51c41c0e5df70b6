"""wp_mail() through the plugin: what PHPMailer built is what Gmail received, and failures
say why."""

from __future__ import annotations

from tests.wordpress.conftest import Service
from tests.wordpress.plugin_flow import MailResult, connect, wp_mail

HTML = "<p>Hello <strong>Ada</strong>, your order shipped.</p>"
ATTACHMENT = r"""
$gmail_oneclick_file = sys_get_temp_dir() . '/gmail-oneclick-test-invoice.pdf';
file_put_contents($gmail_oneclick_file, "%PDF-1.4 pretend invoice\n" . str_repeat("\x00\xff", 300));
"""


def _connected(service: Service, email: str = "alice@example.com") -> str:
    connection_id, _ = connect(service, service.wordpress.login(), email)
    return connection_id


def _order_mail(service: Service, from_header: str = "From: Shop <alice@example.com>"
                ) -> MailResult:
    return wp_mail(
        service.wordpress, ["ada@example.org", "Grace <grace@example.org>"], "Order 1042 shipped",
        HTML,
        [from_header, "Content-Type: text/html; charset=UTF-8", "Cc: cc@example.org",
         "Bcc: hidden@example.org", "Reply-To: help@example.com"],
        attachments_php="['invoice-1042.pdf' => $gmail_oneclick_file]", prelude=ATTACHMENT,
    )


def test_html_mail_with_attachment_cc_and_bcc_arrives_byte_identical(service: Service) -> None:
    connection_id = _connected(service)
    result = _order_mail(service)
    assert result.sent, result.error_message
    sent = service.gmail.sent
    assert len(sent) == 1
    assert sent[0].raw == result.mime
    assert sent[0].email == "alice@example.com"
    assert sent[0].recipients == 4  # two To, one Cc, one Bcc
    mime = result.mime.decode()
    assert "\r\nBcc: hidden@example.org\r\n" in mime
    assert "\r\nCc: cc@example.org\r\n" in mime
    assert "\r\nReply-To: help@example.com\r\n" in mime
    assert "\r\nContent-Type: text/html; charset=" in mime  # PHPMailer says us-ascii for 7-bit
    assert "\r\nContent-Disposition: attachment; filename=invoice-1042.pdf\r\n" in mime
    assert "\r\nSubject: Order 1042 shipped\r\n" in mime
    assert "\n" not in mime.replace("\r\n", "")  # CRLF line ends only
    log = service.wordpress.php("echo json_encode(Gmail_OneClick_Store::recent_sends());").stdout
    assert connection_id in log and sent[0].id in log


def test_other_plugins_phpmailer_init_hooks_still_apply(service: Service) -> None:
    _connected(service)
    hook = """add_action('phpmailer_init', function ($m) {
        $m->addCustomHeader('X-Shop-Order', '1042');
        $m->isSMTP();  // an SMTP plugin's habit: the message still goes to Gmail, Bcc and all
    });\n"""
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "plain body",
                     ["From: alice@example.com", "Bcc: hidden@example.org"], prelude=hook)
    assert result.sent, result.error_message
    (sent,) = service.gmail.sent
    assert b"\r\nX-Shop-Order: 1042\r\n" in sent.raw
    assert b"\r\nBcc: hidden@example.org\r\n" in sent.raw
    assert sent.recipients == 2
    assert sent.raw == result.mime


def test_from_matching_no_account_goes_through_the_default(service: Service) -> None:
    _connected(service, "alice@example.com")
    bob = _connected(service, "bob@example.com")
    service.wordpress.php(f"Gmail_OneClick_Settings::set('default_connection', '{bob}');")
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body")  # wordpress@127.0.0.1
    assert result.sent, result.error_message
    assert service.gmail.sent[-1].email == "bob@example.com"
    result = _order_mail(service)  # From alice@: her account, whatever the default
    assert result.sent, result.error_message
    assert service.gmail.sent[-1].email == "alice@example.com"


def test_not_configured_fails_loudly_without_php_mail(service: Service) -> None:
    service.wordpress.php("delete_option('gmail_oneclick_settings');")
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body",
                     prelude="add_filter('pre_wp_mail', fn($r) => $r, 99);")
    assert result.sent is False
    assert result.error_code == "gmail_oneclick_not_configured"
    assert "Enter the service URL and API key in Settings → Gmail one-click" in str(
        result.error_message)
    assert service.gmail.sent == []


def test_unreachable_service_fails_with_http_request_failed(service: Service) -> None:
    _connected(service)
    service.wordpress.php("""$s = get_option('gmail_oneclick_settings');
        $s['service_url'] = 'http://127.0.0.1:9'; update_option('gmail_oneclick_settings', $s);""")
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body", "From: alice@example.com")
    assert result.sent is False
    assert result.error_code == "http_request_failed"
    assert "could not be reached" in str(result.error_message)


def test_a_wrong_key_fails_with_unauthorized(service: Service) -> None:
    _connected(service)
    service.wordpress.php("""$s = get_option('gmail_oneclick_settings');
        $s['api_key'] = 'gok_wrong-key-0123456789';
        update_option('gmail_oneclick_settings', $s);""")
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body", "From: alice@example.com")
    assert result.sent is False
    assert result.error_code == "unauthorized"
    assert "refused this site’s API key" in str(result.error_message)


def test_the_send_log_holds_no_subject_address_or_body(service: Service) -> None:
    _connected(service)
    assert _order_mail(service).sent
    wp_mail(service.wordpress, "nobody@example.org", "Secret subject", "secret body",
            "From: unknown@example.net",
            prelude="delete_option('gmail_oneclick_settings');")  # a failed send is logged too
    dump = service.wordpress.db.sql("SELECT * FROM wordpress.wp_gmail_oneclick_log").stdout
    assert len(dump.strip().splitlines()) == 2
    for secret in ("Order 1042", "Secret subject", "ada@", "grace@", "cc@", "hidden@",
                   "nobody@", "unknown@", "Hello", "secret body", "invoice"):
        assert secret not in dump, secret


def test_a_lost_answer_from_gmail_says_the_message_may_have_been_sent(service: Service) -> None:
    _connected(service)
    service.gmail.inject_fault("drop_after_accept")  # Gmail takes it, the answer is lost
    result = wp_mail(service.wordpress, "ada@example.org", "Hi", "body", "From: alice@example.com")
    assert result.sent is False
    assert result.error_code == "delivery_unknown"
    assert "may have been sent" in str(result.error_message)
    assert "Sent folder of alice@example.com" in str(result.error_message)
    assert len(service.gmail.sent) == 1  # sent once, and nobody sent it again
