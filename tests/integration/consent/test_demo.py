"""`make run` in sandbox mode: a person opens the printed URL, clicks "Connect Gmail", consents
at the sandbox, and sees the connection, all over real HTTP against one served process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.settings import Settings
from tests.conftest import mark_database, register_site
from tests.integration.consent.conftest import CSRF, query_of


@pytest.fixture
def served(database_url: str, keyring_text: str, tmp_path: Any) -> Iterator[tuple[Any, str]]:
    from gmail_oneclick.entrypoints.web import EXTENSION, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    mark_database(database_url, "sandbox")  # as `make run` migrates it
    settings = Settings(database_url=database_url, encryption_keys=keyring_text, sandbox=True,
                        public_url=base, instance_path=str(tmp_path / "instance"),
                        http_timeout=5.0)
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app.extensions[EXTENSION], base
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions[EXTENSION].engine.dispose()


def test_a_person_connects_a_sandbox_account_from_the_demo_page(
    served: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from gmail_oneclick.entrypoints.web.demo_site import announce

    container, base = served
    announce(container)
    printed = capsys.readouterr().err
    assert f"{base}/_demo" in printed and f"{base}/_sandbox/google/" in printed
    assert "goc_" not in printed  # no key is ever printed
    with container.uow() as uow:
        demo = uow.sites.list()[0]
    api_key = register_site(container, name="curl user", origin=base).api_key

    person = requests.Session()
    home = person.get(f"{base}/_demo", timeout=10)
    assert home.status_code == 200 and "Connect Gmail" in home.text
    connect_page = person.post(f"{base}/_demo/connect", timeout=10,
                               data={"csrf_token": CSRF.search(home.text).group(1)})  # type: ignore[union-attr]
    assert connect_page.url.startswith(f"{base}/connect/")
    assert "gmail-oneclick demo" in connect_page.text
    to_google = person.post(connect_page.url, allow_redirects=False, timeout=10,
                            data={"csrf_token": CSRF.search(connect_page.text).group(1)})  # type: ignore[union-attr]
    auth_url = to_google.headers["Location"]
    assert auth_url.startswith(f"{base}/_sandbox/google/o/oauth2/v2/auth?")
    back = person.get(approve_consent(person, auth_url, "alice@example.com"), timeout=10)
    assert back.status_code == 200 and back.url.startswith(f"{base}/_demo/return?")
    cid = query_of(back.url)["connection_id"][0]
    assert cid in back.text and "alice@example.com" in back.text

    with container.uow() as uow:
        listed = [(c.id, c.email) for c in uow.connections.list_for_site(demo.id)]
    assert listed == [(cid, "alice@example.com")]
    # Another site of the same origin sees none of the demo site's connections.
    other = requests.get(f"{base}/v1/connections", timeout=10,
                         headers={"Authorization": f"Bearer {api_key}"}).json()
    assert other == {"connections": []}


def test_announce_prints_no_key_and_keeps_one_demo_site(
    served: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from gmail_oneclick.entrypoints.web.demo_site import announce

    container, base = served
    announce(container)
    announce(container)
    assert "goc_" not in capsys.readouterr().err
    with container.uow() as uow:
        assert [s.name for s in uow.sites.list()] == ["gmail-oneclick demo"]


def test_the_demo_pages_do_not_exist_outside_sandbox_mode(client: Any) -> None:
    assert client.get("/_demo").status_code == 404


@pytest.mark.parametrize("action", ["connect", "send", "disconnect"])
def test_a_demo_action_without_the_pages_csrf_token_is_refused(
    served: tuple[Any, str], action: str
) -> None:
    _, base = served
    person = requests.Session()
    person.get(f"{base}/_demo", timeout=10)  # the browser holds the demo's CSRF cookie
    forged = person.post(f"{base}/_demo/{action}", allow_redirects=False, timeout=10,
                         data={"csrf_token": "x" * 43, "connection_id": "conn_x"})
    # The page again (with a fresh token), not a redirect to a new connect link.
    assert forged.status_code == 400 and "Location" not in forged.headers
    assert "Connect Gmail" in forged.text
