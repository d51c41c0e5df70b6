"""Connect a sandbox Gmail account to a site through the service's real consent flow."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from gmail_oneclick.sandbox.driver import approve_consent

RETURN_URL = "https://blog.example.com/wp-admin/options-general.php?page=gmail"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def connect_account(app: Any, site: Any, email: str) -> str:
    """Click through the service's consent flow as the site admin; returns the connection id."""
    client = app.test_client()
    link = client.post("/v1/connections", json={"return_url": RETURN_URL}, headers=site.auth)
    connect_url = link.get_json()["connect_url"]
    page = client.get(path_of(connect_url)).get_data(as_text=True)
    csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
    to_google = client.post(path_of(connect_url), data={"csrf_token": csrf})
    with requests.Session() as google:
        callback = approve_consent(google, to_google.headers["Location"], email)
    back = client.get(path_of(callback))
    assert back.status_code == 303, back.get_data(as_text=True)
    return parse_qs(urlsplit(back.headers["Location"]).query)["connection_id"][0]
