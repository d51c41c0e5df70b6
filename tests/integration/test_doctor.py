"""``gmail-oneclick doctor`` against the sandbox on loopback, and against broken settings:
each problem an operator could ship with shows as its own failing line, and exit 1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from gmail_oneclick.adapters.storage.migrate import upgrade
from gmail_oneclick.adapters.storage.tables import audit_events, connections, make_engine
from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.entrypoints.cli import main
from gmail_oneclick.entrypoints.cli.doctor import render_text
from gmail_oneclick.entrypoints.cli.doctor_remote import Check, check_webhooks
from gmail_oneclick.services.sites import add_site
from gmail_oneclick.settings import VARIABLES, Settings
from tests.conftest import register_site
from token_store import generate_key_entry

LIVE = "https://mail.example.com"  # PUBLIC_URL of a deployment ready to go live


def doctor(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``gmail-oneclick doctor`` with ``settings`` as the environment; the exit code and
    the JSON report. No secret may appear in what it prints."""
    env: dict[str, str | None] = {"GMAIL_ONECLICK_CONFIG": None}
    for var in VARIABLES:
        value = getattr(settings, var.name)
        env[var.env] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    result = CliRunner().invoke(main, ["doctor", *args], env=env, catch_exceptions=False)
    for secret in (settings.google_client_secret, settings.encryption_keys):
        for part in filter(None, secret.replace(",", ":").split(":")[1::2]):
            assert part not in result.output
    return result.exit_code, json.loads(result.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in report["checks"]}


def failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if c["status"] == "fail"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_deployment_ready_to_go_live_passes_every_check(settings: Settings) -> None:
    code, report = doctor(settings.replace(public_url=LIVE), "--json")
    assert code == 0
    assert report["ok"] is True
    assert {c["status"] for c in report["checks"]} == {"ok"}, report
    names = set(by_name(report))
    assert {"settings", "public_url", "database", "keyring", "webhooks", "testing_mode",
            "google_token_uri", "google_auth_uri", "google_revoke_uri", "google_userinfo_uri",
            "gmail_api_endpoint", "risc_jwks_uri", "clock"} <= names
    assert f"{LIVE}/oauth2/callback" in by_name(report)["public_url"]["message"]


def test_a_missing_client_id_fails_naming_the_variable(settings: Settings) -> None:
    code, report = doctor(settings.replace(public_url=LIVE, google_client_id=""))
    assert code == 1 and report["ok"] is False
    line = by_name(report)["settings"]
    assert line["status"] == "fail"
    assert "GMAIL_ONECLICK_GOOGLE_CLIENT_ID" in line["message"]
    assert "Google Cloud console" in line["next_step"]


def test_an_http_public_url_outside_sandbox_mode_warns_without_failing(
        settings: Settings) -> None:
    code, report = doctor(settings.replace(public_url="http://127.0.0.1:8000"))
    assert code == 0
    line = by_name(report)["public_url"]
    assert line["status"] == "warn"
    assert "https://" in line["next_step"]


def test_a_database_not_migrated_fails_with_db_upgrade_as_next_step(
        settings: Settings, tmp_path: Any) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    code, report = doctor(settings.replace(public_url=LIVE, database_url=fresh))
    assert code == 1
    assert failed(report) == ["database"]
    assert "not migrated" in by_name(report)["database"]["message"]
    assert "gmail-oneclick db upgrade" in by_name(report)["database"]["next_step"]


def test_a_keyring_missing_a_key_id_in_use_fails(settings: Settings, container: Any) -> None:
    register_site(container)  # its webhook secret is stored under key k1
    code, report = doctor(settings.replace(public_url=LIVE,
                                           encryption_keys=generate_key_entry("k2")))
    assert code == 1
    assert failed(report) == ["keyring"]
    assert "k1" in by_name(report)["keyring"]["message"]
    assert "keys rotate" in by_name(report)["keyring"]["next_step"]


def test_a_different_key_under_a_used_key_id_fails(settings: Settings, container: Any) -> None:
    register_site(container)
    code, report = doctor(settings.replace(public_url=LIVE,
                                           encryption_keys=generate_key_entry("k1")))
    assert code == 1
    assert failed(report) == ["keyring"]
    assert "do not open" in by_name(report)["keyring"]["message"]


def test_an_unreachable_token_endpoint_fails(settings: Settings) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/token"
    code, report = doctor(settings.replace(public_url=LIVE, google_token_uri=dead))
    assert code == 1
    assert failed(report) == ["google_token_uri"]
    assert dead in by_name(report)["google_token_uri"]["message"]
    assert by_name(report)["clock"]["status"] == "warn"  # no Date to compare against


def test_a_wrong_client_secret_fails_at_the_token_endpoint(settings: Settings) -> None:
    code, report = doctor(settings.replace(public_url=LIVE, google_client_secret="not-it"))
    assert code == 1
    assert failed(report) == ["google_token_uri"]
    assert "invalid_client" in by_name(report)["google_token_uri"]["message"]


def test_a_webhook_url_on_a_private_address_fails(settings: Settings, container: Any) -> None:
    with container.uow() as uow:  # registered while private targets were allowed
        add_site(uow, container.clock, name="Intranet", origins=["https://intra.example.com"],
                 webhook_url="http://127.0.0.1:9/hook", targets=TargetPolicy(allow_private=True))
    code, report = doctor(settings.replace(public_url=LIVE))
    assert code == 1
    assert failed(report) == ["webhooks"]
    assert "not a public address" in by_name(report)["webhooks"]["message"]


def test_a_webhook_name_resolving_to_a_private_address_fails(settings: Settings) -> None:
    answers = {"hooks.example.com": ["10.1.2.3"], "public.example.com": ["93.184.215.14"]}

    def resolver(host: str, port: int) -> list[str]:
        return answers[host]

    bad = check_webhooks(settings, [("site_a", "https://hooks.example.com/wp-json/x")], resolver)
    good = check_webhooks(settings, [("site_b", "https://public.example.com/h")], resolver)
    assert (bad.status, good.status) == ("fail", "ok")
    assert "site_a's webhook URL resolves to a non-public address" in bad.message


class _SkewedGoogle(BaseHTTPRequestHandler):
    """Answers every request as Google's token endpoint answers a dead refresh token, with
    a Date one hour ahead."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error": "invalid_grant"}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def skewed_google() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SkewedGoogle)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/token"
    server.shutdown()
    server.server_close()


def test_a_clock_an_hour_off_googles_date_fails(settings: Settings, skewed_google: str) -> None:
    code, report = doctor(settings.replace(public_url=LIVE, google_token_uri=skewed_google))
    assert code == 1
    assert failed(report) == ["clock"]
    message = by_name(report)["clock"]["message"]
    assert message.endswith("s behind Google's")
    assert 3590 <= int(message.split()[-4]) <= 3601  # Date has a one-second resolution
    assert "NTP" in by_name(report)["clock"]["next_step"]


def _seed_revoked(settings: Settings, site_id: str, lifetimes: list[timedelta]) -> None:
    """Connections consented ``lifetime`` before Google refused their refresh token."""
    now = datetime.now(UTC)
    engine = make_engine(settings.sqlalchemy_url)
    with engine.begin() as conn:
        for n, lifetime in enumerate(lifetimes):
            revoked = now - timedelta(hours=n + 1)
            consented = revoked - lifetime
            cid = f"conn_seed{n}"
            conn.execute(insert(connections).values(
                id=cid, site_id=site_id, status="reconnect_required", scopes="", email=None,
                created_at=consented, updated_at=revoked, revoked_at=revoked,
                revocation_reason="invalid_grant"))
            conn.execute(insert(audit_events), [
                {"at": consented, "type": "connection:connected", "site_id": site_id,
                 "connection_id": cid, "data": {"outcome": "new"}},
                {"at": revoked, "type": "connection:revoked", "site_id": site_id,
                 "connection_id": cid, "data": {"reason": "invalid_grant"}}])
    engine.dispose()


def test_connections_dying_7_days_after_consent_point_at_testing_mode(
        settings: Settings, container: Any) -> None:
    site = register_site(container)
    _seed_revoked(settings, site.id, [timedelta(days=7, hours=3), timedelta(days=7, hours=5),
                                      timedelta(days=40)])
    code, report = doctor(settings.replace(public_url=LIVE))
    assert code == 1
    assert failed(report) == ["testing_mode"]
    line = by_name(report)["testing_mode"]
    assert line["message"].startswith("2 connection(s)")
    assert "publish the OAuth consent screen" in line["next_step"]


def test_invalid_grant_at_other_ages_is_not_the_testing_mode_pattern(
        settings: Settings, container: Any) -> None:
    site = register_site(container)
    _seed_revoked(settings, site.id, [timedelta(days=2), timedelta(days=30)])
    code, report = doctor(settings.replace(public_url=LIVE))
    assert code == 0
    assert by_name(report)["testing_mode"]["status"] == "ok"


def test_a_database_marked_for_the_sandbox_fails_outside_sandbox_mode(
        settings: Settings, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'sandbox.sqlite'}"
    upgrade(url, sandbox=True)
    code, report = doctor(settings.replace(public_url=LIVE, database_url=url))
    assert code == 1
    assert failed(report) == ["database"]
    assert "sandbox" in by_name(report)["database"]["message"]


def test_on_a_terminal_each_check_is_one_marked_line_with_its_next_step() -> None:
    lines: list[str] = []
    render_text([Check("clock", "fail", "this host's clock is 90 s ahead of Google's",
                       "synchronise the clock (NTP)"),
                 Check("database", "ok", "database reachable")], lines.append)
    assert lines == ["[FAIL] clock: this host's clock is 90 s ahead of Google's",
                     "       -> synchronise the clock (NTP)",
                     "[ok  ] database: database reachable",
                     "1 failed, 0 warning(s), 1 ok"]
