"""`make run` restarted: the service in sandbox mode, served over real HTTP, stopped and built
again from the same instance folder and database. The emulated Google must remember who
consented, so connections made before the restart keep sending without a new consent."""

from __future__ import annotations

import base64
import json
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from gmail_oneclick.sandbox.driver import approve_consent
from gmail_oneclick.sandbox.gmail_state import gmail_state
from gmail_oneclick.settings import Settings, SettingsError
from tests.conftest import mark_database
from tests.integration.consent.conftest import CSRF, query_of
from tests.waiting import answers_ok

BODY = "A body the state file must never hold: sandbox-restart-marker-7d1f."


class Service:
    """One instance folder and database, served on one port each time it is started."""

    def __init__(self, database_url: str, keyring_text: str, instance: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.settings = Settings(
            database_url=database_url, encryption_keys=keyring_text, sandbox=True,
            public_url=self.base, instance_path=str(instance), http_timeout=5.0)
        self.api_key = ""

    @contextmanager
    def running(self) -> Iterator[Any]:
        """A fresh process's worth of service: create_app builds everything from settings."""
        from gmail_oneclick.entrypoints.web import EXTENSION, create_app

        app = create_app(self.settings)
        server = make_server("127.0.0.1", self.port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield app.extensions[EXTENSION]
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            app.extensions[EXTENSION].close()

    def connect(self, email: str) -> str:
        """A person connects the demo site through the sandbox's consent page."""
        person = requests.Session()
        home = person.get(f"{self.base}/_demo", timeout=10)
        page = person.post(f"{self.base}/_demo/connect", timeout=10,
                           data={"csrf_token": CSRF.search(home.text).group(1)})  # type: ignore[union-attr]
        to_google = person.post(page.url, allow_redirects=False, timeout=10,
                                data={"csrf_token": CSRF.search(page.text).group(1)})  # type: ignore[union-attr]
        back = person.get(approve_consent(person, to_google.headers["Location"], email),
                          timeout=10)
        assert back.status_code == 200, back.text
        return query_of(back.url)["connection_id"][0]

    def demo_key(self, container: Any) -> str:
        from gmail_oneclick.services.sites import rotate_api_key

        with container.uow() as uow:
            site_id = uow.sites.list()[0].id
            return rotate_api_key(uow, container.clock, site_id)

    def send(self, sender: str) -> requests.Response:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, "reader@example.net", "Hello"
        msg.set_content(BODY)
        raw = base64.urlsafe_b64encode(msg.as_bytes()).decode().rstrip("=")
        return requests.post(f"{self.base}/v1/messages", json={"raw": raw}, timeout=20,
                             headers={"Authorization": f"Bearer {self.api_key}"})


@pytest.fixture
def service(database_url: str, keyring_text: str, tmp_path: Path) -> Service:
    mark_database(database_url, "sandbox")  # as `make run` migrates it
    return Service(database_url, keyring_text, tmp_path / "instance")


def connect_and_send(service: Service) -> str:
    with service.running() as container:
        cid = service.connect("alice@example.com")
        service.api_key = service.demo_key(container)
        first = service.send("alice@example.com")
        assert first.status_code == 200, first.text
    return cid


def connection_status(container: Any, cid: str) -> str:
    with container.uow() as uow:
        return str(uow.connections.get(cid).status)


def test_a_restart_keeps_sandbox_connections_sending(service: Service) -> None:
    cid = connect_and_send(service)
    with service.running() as container:
        # Our cached access token is still good at the restarted sandbox...
        again = service.send("alice@example.com")
        assert again.status_code == 200, again.text
        # ...and once it has expired, the refresh token kept across the restart mints another.
        container.sandbox.expire_access_tokens()
        with container.uow() as uow:
            uow.connections.update(cid, access_token_expires_at=container.clock.now())
            uow.commit()
        refreshed = service.send("alice@example.com")
        assert refreshed.status_code == 200, refreshed.text
        assert connection_status(container, cid) == "connected"
        assert container.sandbox.refresh_count == 1
        # The sent page lists the message sent before the restart too.
        assert len(gmail_state(container.sandbox).sent) == 3
        page = requests.get(f"{service.base}/_sandbox/google/_sandbox/gmail/sent", timeout=10)
        assert page.text.count("alice@example.com") == 3


def test_the_state_file_is_private_and_holds_no_message(service: Service) -> None:
    connect_and_send(service)
    path = service.instance / "sandbox-google.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert BODY not in text and "reader@example.net" not in text and "Hello" not in text
    saved = json.loads(text)
    assert [m["recipients"] for m in saved["sent"]] == [1]
    assert [p.name for p in service.instance.iterdir() if p.name.endswith(".tmp")] == []


def test_fresh_forgets_the_sandbox_and_old_connections_ask_to_reconnect(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    from gmail_oneclick.bootstrap import forget_sandbox_state

    cid = connect_and_send(service)
    assert forget_sandbox_state(service.settings) is True  # serve --fresh
    with service.running() as container:
        assert container.sandbox.live_grants() == []
        assert "1 connection(s) made before will need connecting again" in caplog.text
        refused = service.send("alice@example.com")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "reconnect_required"
        assert connection_status(container, cid) == "reconnect_required"
        assert service.connect("alice@example.com")  # connecting again works
        assert service.send("alice@example.com").status_code == 200
    assert forget_sandbox_state(service.settings) is True
    assert forget_sandbox_state(service.settings) is False


def test_fresh_needs_sandbox_mode(service: Service) -> None:
    from gmail_oneclick.bootstrap import forget_sandbox_state

    with pytest.raises(SettingsError, match="SANDBOX=1"):
        forget_sandbox_state(service.settings.replace(sandbox=False))


def test_a_damaged_state_file_stops_the_start_with_the_way_out(service: Service) -> None:
    service.instance.mkdir(parents=True)
    (service.instance / "sandbox-google.json").write_text('{"format": 1, "accounts": 3}')
    with pytest.raises(SettingsError, match="--fresh"), service.running():
        pass


def test_serve_fresh_deletes_the_saved_sandbox(tmp_path: Path) -> None:
    """`make run FRESH=1`: the command deletes the saved state before the sandbox loads it."""
    import os
    import subprocess
    import sys
    import time

    instance = tmp_path / "instance"
    instance.mkdir()
    saved = instance / "sandbox-google.json"
    saved.write_text("damaged: serve without --fresh would refuse to start")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GMAIL_ONECLICK_")},
           "GMAIL_ONECLICK_SANDBOX": "1", "GMAIL_ONECLICK_INSTANCE_PATH": str(instance)}
    exe = str(Path(sys.executable).with_name("gmail-oneclick"))
    subprocess.run([exe, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([exe, "serve", "--fresh", "--port", str(port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None and \
                not answers_ok(f"http://127.0.0.1:{port}/healthz"):
            time.sleep(0.2)
        assert json.loads(saved.read_text())["grants"] == []  # a clean state, saved at once
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "saved state deleted, starting clean" in err
