"""Settings: environment first, then TOML, then defaults; secrets never shown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gmail_oneclick.settings import VARIABLES, Settings, SettingsError, env_example, load_settings


def test_defaults_when_nothing_is_set() -> None:
    s = load_settings({})
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.redirect_uri == "http://127.0.0.1:8000/oauth2/callback"
    assert s.check_interval == 21600 and s.connect_ttl == 900 and s.registration == "closed"
    assert s.sqlalchemy_url.startswith("sqlite:///") and s.sqlalchemy_url.endswith(".sqlite")


def test_environment_wins_over_toml_which_wins_over_defaults(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[gmail_oneclick]\nconnect_ttl = 600\ncheck_interval = 3600\n')
    s = load_settings({"GMAIL_ONECLICK_CONFIG": str(toml), "GMAIL_ONECLICK_CONNECT_TTL": "300"})
    assert s.connect_ttl == 300
    assert s.check_interval == 3600


def test_secret_from_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cr3t-value\n")
    s = load_settings({"GMAIL_ONECLICK_GOOGLE_CLIENT_SECRET_FILE": str(tmp_path / "secret")})
    assert s.google_client_secret == "s3cr3t-value"


def test_unreadable_secret_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GMAIL_ONECLICK_ENCRYPTION_KEYS_FILE"):
        load_settings({"GMAIL_ONECLICK_ENCRYPTION_KEYS_FILE": str(tmp_path / "missing")})


def test_repr_hides_secrets() -> None:
    s = Settings(google_client_secret="GOCSPX-very-secret", encryption_keys="k1:AAAA")
    assert "GOCSPX" not in repr(s) and "AAAA" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GMAIL_ONECLICK_PUBLIC_URL", "http://example.com"),
        ("GMAIL_ONECLICK_GOOGLE_TOKEN_URI", "ftp://x"),
        ("GMAIL_ONECLICK_CONNECT_TTL", "-5"),
        ("GMAIL_ONECLICK_CHECK_INTERVAL", "ten"),
        ("GMAIL_ONECLICK_SANDBOX", "maybe"),
        ("GMAIL_ONECLICK_REGISTRATION", "sometimes"),
        ("GMAIL_ONECLICK_IDEMPOTENCY_RETENTION_HOURS", "23"),
        ("GMAIL_ONECLICK_AUDIT_RETENTION_DAYS", "0"),
        ("GMAIL_ONECLICK_WEBHOOK_RETENTION_DAYS", "0"),
    ],
)
def test_malformed_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_http_is_accepted_for_loopback_google_urls() -> None:
    s = load_settings({"GMAIL_ONECLICK_GOOGLE_TOKEN_URI": "http://127.0.0.1:9/token"})
    assert s.google_token_uri == "http://127.0.0.1:9/token"


def test_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[gmail_oneclick]\nconect_ttl = 600\n')
    with pytest.raises(SettingsError, match="conect_ttl"):
        load_settings({"GMAIL_ONECLICK_CONFIG": str(toml)})


def test_variable_map_and_settings_fields_agree() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert {v.name: v.default for v in VARIABLES} == fields


def test_env_example_in_repo_is_current() -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "env.example"
    assert path.read_text() == env_example(), "regenerate: python -m gmail_oneclick.settings"
