"""oauthlib's two process-wide switches are set once when the process builds its Google client,
never toggled per call: concurrent consents neither write os.environ nor wait on each other, and
plain http is allowed only when every Google URL is on loopback."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from gmail_oneclick.adapters.google.oauth import INSECURE_TRANSPORT, RELAX_SCOPE, GoogleOAuthClient
from gmail_oneclick.ports import UpstreamMisconfigured
from tests.integration.consent.test_google_oauth_client import consented_code


class RecordingEnviron(MutableMapping[str, str]):
    """os.environ that remembers every write made while it is installed."""

    def __init__(self, initial: dict[str, str]) -> None:
        self.data = dict(initial)
        self.writes: list[str] = []
        self.lock = threading.Lock()

    def __getitem__(self, key: str) -> str:
        return self.data[key]

    def __setitem__(self, key: str, value: str) -> None:
        with self.lock:
            self.writes.append(key)
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        with self.lock:
            self.writes.append(key)
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self.data))

    def __len__(self) -> int:
        return len(self.data)


@pytest.fixture
def clean_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start without the switches; monkeypatch puts the environment back afterwards."""
    monkeypatch.delenv(RELAX_SCOPE, raising=False)
    monkeypatch.delenv(INSECURE_TRANSPORT, raising=False)


def test_bootstrap_sets_the_switches_and_concurrent_consents_never_touch_the_environment(
    clean_switches: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gmail_oneclick.bootstrap import build

    container = build(settings)  # every Google URL is the sandbox on loopback
    assert os.environ[RELAX_SCOPE] == "1" and os.environ[INSECURE_TRANSPORT] == "1"
    google = container.google
    codes = [consented_code(google, f"user{i}@example.com") for i in range(6)]
    recorder = RecordingEnviron(dict(os.environ))
    monkeypatch.setattr(os, "environ", recorder)

    with ThreadPoolExecutor(max_workers=6) as pool:
        grants = list(pool.map(lambda cv: google.exchange_code(code=cv[0], code_verifier=cv[1]),
                               codes))
        urls = list(pool.map(lambda i: google.authorization_url(
            state=f"s{i}" * 22, code_challenge="c" * 43, login_hint=None), range(6)))

    assert all(g.refresh_token for g in grants) and all(u.startswith("http://") for u in urls)
    assert recorder.writes == []
    container.engine.dispose()


def test_a_non_loopback_http_google_url_is_refused_even_when_the_environment_allows_http(
    clean_switches: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INSECURE_TRANSPORT, "1")  # left over in the operator's shell
    sent: list[str] = []

    def no_network(adapter: HTTPAdapter, request: requests.PreparedRequest, **kw: Any) -> Any:
        sent.append(str(request.url))
        raise requests.ConnectionError("no network in tests")

    monkeypatch.setattr(HTTPAdapter, "send", no_network)
    # Settings built directly skip validate(), which refuses such a URL earlier still.
    google = GoogleOAuthClient(settings.replace(
        google_auth_uri="http://accounts.example.test/o/oauth2/v2/auth",
        google_token_uri="http://oauth2.example.test/token"))

    assert INSECURE_TRANSPORT not in os.environ
    with pytest.raises(UpstreamMisconfigured, match="insecure_transport"):
        google.exchange_code(code="4/code", code_verifier="v" * 43)
    with pytest.raises(UpstreamMisconfigured, match="insecure_transport"):
        google.authorization_url(state="s" * 43, code_challenge="c" * 43, login_hint=None)
    assert sent == []  # refused before anything left the process
    google.close()


def test_real_google_urls_keep_plain_http_off_and_the_scope_check_relaxed(
    clean_switches: None, tmp_path: Any
) -> None:
    from gmail_oneclick.settings import Settings

    google = GoogleOAuthClient(Settings(google_client_id="x.apps.googleusercontent.com",
                                        google_client_secret="GOCSPX-x",
                                        instance_path=str(tmp_path)))
    assert os.environ[RELAX_SCOPE] == "1"
    assert INSECURE_TRANSPORT not in os.environ
    google.close()
