"""Drives the sandbox's consent page without a browser, the way a person would click it.

    callback_url = approve_consent(session, auth_url, "alice@example.com")
    session.get(callback_url)  # the service's /oauth2/callback, with the browser's cookies

The helpers read the real HTML form (html.parser), so a broken consent page breaks tests.
"""

from __future__ import annotations

from collections.abc import Collection
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

from gmail_oneclick.domain.model import GMAIL_SEND

TIMEOUT_SECONDS = 10


class ConsentError(AssertionError):
    """The authorization URL did not lead to a consent form (an error page, say)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"no consent form (HTTP {status}): {text}")
        self.status = status
        self.text = text


class _FormParser(HTMLParser):
    """Collects the first form's action and its inputs (with their default state)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: list[dict[str, str]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self._skip += 1
        fields = {key: value or "" for key, value in attrs}
        if tag == "form" and self.action is None:
            self.action = fields.get("action", "")
        elif tag in ("input", "button"):
            fields.setdefault("type", "submit" if tag == "button" else "text")
            self.inputs.append(fields)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._skip:
            self.text.append(data.strip())


def _open_consent(session: requests.Session, auth_url: str) -> tuple[str, _FormParser]:
    response = session.get(auth_url, timeout=TIMEOUT_SECONDS)
    parser = _FormParser()
    parser.feed(response.text)
    if response.status_code != 200 or parser.action is None:
        raise ConsentError(response.status_code, " ".join(parser.text))
    return urljoin(response.url, parser.action), parser


def _submit(session: requests.Session, action: str, data: list[tuple[str, str]]) -> str:
    response = session.post(action, data=data, allow_redirects=False, timeout=TIMEOUT_SECONDS)
    if response.status_code not in (302, 303) or "Location" not in response.headers:
        parser = _FormParser()
        parser.feed(response.text)
        raise ConsentError(response.status_code, " ".join(parser.text))
    return urljoin(action, response.headers["Location"])


def approve_consent(
    session: requests.Session,
    auth_url: str,
    email: str,
    grant_gmail_send: bool = True,
    *,
    untick: Collection[str] = (),
) -> str:
    """Opens ``auth_url``, picks ``email`` (an unknown one is typed into "Use another account",
    which creates it), leaves gmail.send ticked unless ``grant_gmail_send`` is False (and unticks
    any scope in ``untick``), clicks Allow, and returns the redirect target (the callback URL
    with ``code``, ``state`` and ``scope``). Raises ConsentError when no consent form shows up.
    """
    action, form = _open_consent(session, auth_url)
    dropped = set(untick) | (set() if grant_gmail_send else {GMAIL_SEND})
    accounts = {i.get("value", "") for i in form.inputs if i.get("name") == "account"}
    chosen = next((a for a in accounts if a.lower() == email.lower()), None)
    data: list[tuple[str, str]] = []
    for field in form.inputs:
        name, value, kind = field.get("name", ""), field.get("value", ""), field["type"]
        if kind == "hidden" or kind == "checkbox" and "checked" in field and value not in dropped:
            data.append((name, value))
    if chosen is not None:
        data.append(("account", chosen))
    else:
        data.append(("other_email", email))
    data.append(("action", "allow"))
    return _submit(session, action, data)


def deny_consent(session: requests.Session, auth_url: str) -> str:
    """Opens ``auth_url`` and clicks Cancel; returns the callback URL with error=access_denied."""
    action, form = _open_consent(session, auth_url)
    data = [(i.get("name", ""), i.get("value", "")) for i in form.inputs if i["type"] == "hidden"]
    return _submit(session, action, [*data, ("action", "cancel")])
