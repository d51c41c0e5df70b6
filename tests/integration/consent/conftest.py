"""A site admin's browser for the consent flow: the Flask test client on the service side, a
requests session on the sandbox's consent page (real HTTP), as one person would click through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from gmail_oneclick.sandbox.driver import approve_consent, deny_consent
from tests.conftest import RegisteredSite

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RETURN_URL = "https://blog.example.com/wp-admin/options-general.php?page=gmail"


class FakeClock:
    """A clock tests move by hand; starts at the real time so the sandbox agrees."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@dataclass
class Browser:
    """One browser profile: its cookies at the service (test client) and at Google (session)."""

    client: Any
    google: requests.Session = field(default_factory=requests.Session)
    seen: list[str] = field(default_factory=list)  # every URL, Location and page it was given

    def record(self, response: Any) -> Any:
        self.seen.append(response.get_data(as_text=True))
        self.seen.append(response.headers.get("Location", ""))
        self.seen.extend(response.headers.getlist("Set-Cookie"))
        return response

    def new_link(self, site: RegisteredSite, return_url: str = RETURN_URL, **extra: Any) -> str:
        response = self.client.post(
            "/v1/connections", json={"return_url": return_url, **extra}, headers=site.auth
        )
        assert response.status_code == 201, response.get_json()
        url: str = response.get_json()["connect_url"]
        return url

    def open(self, connect_url: str) -> Any:
        return self.record(self.client.get(path_of(connect_url)))

    def submit(self, connect_url: str, csrf: str | None = None) -> Any:
        if csrf is None:
            page = self.open(connect_url)
            assert page.status_code == 200, page.get_data(as_text=True)
            csrf = CSRF.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        return self.record(self.client.post(path_of(connect_url), data={"csrf_token": csrf}))

    def to_google(self, connect_url: str) -> str:
        """Open the link, click Continue; returns Google's consent URL."""
        response = self.submit(connect_url)
        assert response.status_code == 303, response.get_data(as_text=True)
        location: str = response.headers["Location"]
        return location

    def consent(self, auth_url: str, email: str, grant_gmail_send: bool = True) -> str:
        return approve_consent(self.google, auth_url, email, grant_gmail_send)

    def deny(self, auth_url: str) -> str:
        return deny_consent(self.google, auth_url)

    def callback(self, callback_url: str) -> Any:
        return self.record(self.client.get(path_of(callback_url)))

    def connect(self, site: RegisteredSite, email: str, **kw: Any) -> Any:
        """The whole click-through; returns the callback's response."""
        auth_url = self.to_google(self.new_link(site))
        return self.callback(self.consent(auth_url, email, **kw))


@pytest.fixture
def browser(app: Any) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def other_browser(app: Any) -> Browser:
    """A second browser profile (its own cookie jars)."""
    return Browser(app.test_client())


def stored_secret_owners(container: Any) -> list[str]:
    """Owners with secrets in token_store, e.g. ``connection:conn_...``, ``state:...``."""
    from sqlalchemy import select

    from token_store.sql import secrets_table

    with container.engine.connect() as conn:
        return sorted({r.owner for r in conn.execute(select(secrets_table.c.owner))})


@pytest.fixture
def clock(container: Any) -> FakeClock:
    fake = FakeClock(container.clock.now())
    container.clock = fake
    return fake
