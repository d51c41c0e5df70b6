"""What a site admin does with the Gmail one-click plugin, driven over HTTP like a browser would:
read the settings screen's forms, post them, follow the connect flow, read the one sentence of
result. Also runs wp_mail() inside WordPress and reports what happened."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.wordpress.conftest import Service, connect_through_google
from tests.wordpress.wp import WordPress

SETTINGS = "options-general.php?page=gmail-oneclick"


class _Page(HTMLParser):
    """The forms of a page (fields by their action) and the text of chosen elements."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._first = False
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, list[str]]] = []  # (tag, our classes) of open elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"__action_url": fields.get("action", "")}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and "name" in fields:
            if fields.get("type") != "checkbox" or "checked" in fields:
                self._form[fields["name"]] = fields.get("value", "")
        elif tag == "select" and self._form is not None:
            self._select, self._first = fields.get("name"), True
        elif tag == "option" and self._form is not None and self._select:
            # A browser submits the selected option, else the first one.
            if self._first or "selected" in fields:
                self._form[self._select] = fields.get("value", "")
            self._first = False
        ours = [c for c in fields.get("class", "").split() if c.startswith("gmail-oneclick-")]
        if ours and tag not in ("input", "br", "img"):
            self._open.append((tag, ours))
            for cls in ours:
                self.texts.setdefault(cls, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for _, classes in self._open:
            for cls in classes:
                self.texts[cls][-1] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def form(html: str, action: str) -> dict[str, str]:
    """The fields of the first form whose ``action`` field is ``action``."""
    for fields in parse(html).forms:
        if fields.get("action") == action:
            return {k: v for k, v in fields.items() if k != "__action_url"}
    raise AssertionError(f"no form for {action} on the page")


def texts(html: str, cls: str) -> list[str]:
    """The text of every element with class ``cls``, whitespace collapsed."""
    return [" ".join(t.split()) for t in parse(html).texts.get(cls, [])]


def results(html: str) -> list[str]:
    return texts(html, "gmail-oneclick-result")


def settings_page(wordpress: WordPress, session: requests.Session) -> str:
    page = session.get(wordpress.admin_url(SETTINGS), timeout=30)
    assert page.status_code == 200, page.status_code
    return page.text


def post_action(wordpress: WordPress, session: requests.Session, action: str,
                **changes: str) -> requests.Response:
    """Submit the settings screen's form for ``action`` (with its nonce), changed as given."""
    fields = form(settings_page(wordpress, session), action) | changes
    return session.post(wordpress.admin_url("admin-post.php"), data=fields,
                        allow_redirects=False, timeout=60)


def start_connect(service: Service, session: requests.Session) -> str:
    """Click "Connect Gmail": the plugin asks the service and sends the browser to its page."""
    response = post_action(service.wordpress, session, "gmail_oneclick_connect")
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(service.url + "/connect/"), location
    return location


def connect(service: Service, session: requests.Session, email: str) -> tuple[str, str]:
    """The whole connect flow as ``email``; the connection id and the screen shown on return."""
    back = connect_through_google(session, start_connect(service, session), email)
    query = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    assert query.get("gmail_oneclick") == "connected", back
    landing = session.get(back, timeout=30)
    assert landing.status_code == 200
    return query["connection_id"], landing.text


@dataclass
class MailResult:
    sent: bool
    mime: bytes
    error_code: str | None
    error_message: str | None
    error_data: Any


WP_MAIL = r"""
$gmail_oneclick_failed = null;
add_action('wp_mail_failed', function ($e) use (&$gmail_oneclick_failed) {
    $gmail_oneclick_failed = $e;
});
$gmail_oneclick_sent = wp_mail(%(to)s, %(subject)s, %(message)s, %(headers)s, %(attachments)s);
global $phpmailer;
echo json_encode([
    'sent' => $gmail_oneclick_sent,
    'mime' => base64_encode($phpmailer ? $phpmailer->getSentMIMEMessage() : ''),
    'code' => $gmail_oneclick_failed ? $gmail_oneclick_failed->get_error_code() : null,
    'message' => $gmail_oneclick_failed ? $gmail_oneclick_failed->get_error_message() : null,
    'data' => $gmail_oneclick_failed ? $gmail_oneclick_failed->get_error_data() : null,
]);
"""


def php_value(value: Any) -> str:
    """A PHP literal for a JSON-able Python value."""
    return "json_decode(base64_decode('" + base64.b64encode(
        json.dumps(value).encode()).decode() + "'), true)"


def wp_mail(wordpress: WordPress, to: Any, subject: str, message: str, headers: Any = "",
            *, attachments_php: str = "[]", prelude: str = "") -> MailResult:
    """Call wp_mail() inside WordPress; ``attachments_php`` is a PHP expression, ``prelude``
    PHP run first (to write a file or add a hook, say). Returns what wp_mail() returned, the
    message PHPMailer built, and the wp_mail_failed error if one fired."""
    code = prelude + WP_MAIL % {
        "to": php_value(to), "subject": php_value(subject), "message": php_value(message),
        "headers": php_value(headers), "attachments": attachments_php,
    }
    out = json.loads(wordpress.php(code).stdout)
    return MailResult(out["sent"], base64.b64decode(out["mime"]), out["code"], out["message"],
                      out["data"])
