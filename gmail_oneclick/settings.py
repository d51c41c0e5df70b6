"""One visible map from environment variables and TOML files to typed settings.

Order of precedence: environment variable, then ``config/*.toml`` (the file named by
``GMAIL_ONECLICK_CONFIG``), then the defaults below. Every secret may also be given as a file
path in the same variable name with ``_FILE`` appended. Secrets are redacted in ``repr``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmail_oneclick.domain.model import REQUESTED_SCOPES

PREFIX = "GMAIL_ONECLICK_"

GOOGLE_DEFAULTS = {
    "google_auth_uri": "https://accounts.google.com/o/oauth2/v2/auth",
    "google_token_uri": "https://oauth2.googleapis.com/token",
    "google_revoke_uri": "https://oauth2.googleapis.com/revoke",
    "google_userinfo_uri": "https://openidconnect.googleapis.com/v1/userinfo",
    "gmail_api_endpoint": "https://gmail.googleapis.com/",
    "risc_issuer": "https://accounts.google.com/",
    "risc_jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
}

SCOPES = REQUESTED_SCOPES


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the variable, never its value."""


@dataclass(frozen=True)
class Var:
    """One configuration variable: its env name, TOML key, parser and default."""

    name: str
    kind: type
    default: Any
    secret: bool = False
    help: str = ""

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()


# The one auditable map. Order here is the order of config/env.example.
VARIABLES: tuple[Var, ...] = (
    Var("database_url", str, "", help="SQLAlchemy URL; empty: SQLite file in the instance folder"),
    Var("encryption_keys", str, "", secret=True,
        help="keyring KEYID:BASE64URL(32 bytes),...; first is primary"),
    Var("public_url", str, "http://127.0.0.1:8000", help="external base URL of the service"),
    Var("google_client_id", str, "", help="OAuth client id"),
    Var("google_client_secret", str, "", secret=True, help="OAuth client secret"),
    Var("google_auth_uri", str, GOOGLE_DEFAULTS["google_auth_uri"]),
    Var("google_token_uri", str, GOOGLE_DEFAULTS["google_token_uri"]),
    Var("google_revoke_uri", str, GOOGLE_DEFAULTS["google_revoke_uri"]),
    Var("google_userinfo_uri", str, GOOGLE_DEFAULTS["google_userinfo_uri"]),
    Var("gmail_api_endpoint", str, GOOGLE_DEFAULTS["gmail_api_endpoint"]),
    Var("risc_issuer", str, GOOGLE_DEFAULTS["risc_issuer"]),
    Var("risc_jwks_uri", str, GOOGLE_DEFAULTS["risc_jwks_uri"]),
    Var("risc_replay_window", int, 7 * 86400,
        help="seconds: security events issued longer ago are refused (their ids kept longer)"),
    Var("sandbox", bool, False, help="1: serve and use the bundled Google emulator"),
    Var("sandbox_public", bool, False,
        help="1: let sandbox mode use a PUBLIC_URL or listen off loopback (a public demo host)"),
    Var("check_interval", int, 21600, help="seconds between two verifications of one connection"),
    Var("registration", str, "closed", help="closed | open"),
    Var("registration_per_hour", int, 5,
        help="open registration: sites one client address may register per hour"),
    Var("webhook_private_targets", str, "refuse",
        help="refuse | allow: let webhooks and site verification reach loopback and private "
             "addresses (development, private networks; always allowed in sandbox mode)"),
    Var("connect_ttl", int, 900, help="seconds a connect link stays usable"),
    Var("instance_path", str, "instance", help="folder of the default SQLite file"),
    Var("log_level", str, "INFO", help="DEBUG | INFO | WARNING | ERROR"),
    Var("web_workers", int, 2, help="gunicorn worker processes"),
    Var("web_threads", int, 8, help="gunicorn threads per worker"),
    Var("trusted_proxies", int, 0, help="how many reverse proxies set X-Forwarded-* (ProxyFix)"),
    Var("http_timeout", float, 10.0, help="seconds before an upstream call to Google times out"),
    Var("checker_concurrency", int, 0,
        help="connections the checker verifies at once; 0: auto (32 on SQLite, 64 on PostgreSQL)"),
    Var("checker_batch", int, 500, help="most connections one checker sweep verifies"),
    Var("checker_sweep_seconds", int, 60,
        help="seconds between two checker sweeps (each verifies only due connections)"),
    Var("gmail_upload_threshold", int, 4 * 1024 * 1024,
        help="bytes above which a message goes through Gmail's upload endpoint"),
    Var("gmail_send_attempts", int, 3,
        help="tries of one send when Gmail cannot have taken it (refused connection, 500, 503)"),
    Var("idempotency_lease_seconds", int, 300,
        help="seconds a send holds its Idempotency-Key; a key still held after a crash then "
             "answers delivery_unknown"),
    Var("webhook_dispatch_threads", int, 4,
        help="threads per process posting webhooks right after their commit; 0: checker only"),
    Var("audit_retention_days", int, 180, help="days audit events are kept"),
    Var("idempotency_retention_hours", int, 24,
        help="hours Idempotency-Key records are kept (at least 24)"),
    Var("webhook_retention_days", int, 7, help="days delivered or failed webhook events are kept"),
)


def _parse(var: Var, raw: Any) -> Any:
    if var.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{var.env} must be 0 or 1")
    if var.kind is int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{var.env} must be a whole number") from None
        if value < 0:
            raise SettingsError(f"{var.env} must not be negative")
        return value
    if var.kind is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{var.env} must be a number") from None
    return str(raw).strip()


def _read_toml(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get(PREFIX + "CONFIG")
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"{PREFIX}CONFIG: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{PREFIX}CONFIG: {path} is not valid TOML: {exc}") from None
    section = data.get("gmail_oneclick", data)
    known = {v.name for v in VARIABLES}
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"{PREFIX}CONFIG: unknown setting(s) in {path}: {', '.join(unknown)}")
    return dict(section)


def _lookup(var: Var, env: Mapping[str, str], toml: Mapping[str, Any]) -> Any:
    if var.env in env:
        return env[var.env]
    if var.secret and env.get(var.env + "_FILE"):
        path = env[var.env + "_FILE"]
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{var.env}_FILE: cannot read {path}: {exc.strerror}") from None
    if var.name in toml:
        return toml[var.name]
    return var.default


@dataclass(frozen=True)
class Settings:
    """Typed, immutable settings. ``repr`` never shows a secret."""

    database_url: str = ""
    encryption_keys: str = field(default="", repr=False)
    public_url: str = "http://127.0.0.1:8000"
    google_client_id: str = ""
    google_client_secret: str = field(default="", repr=False)
    google_auth_uri: str = GOOGLE_DEFAULTS["google_auth_uri"]
    google_token_uri: str = GOOGLE_DEFAULTS["google_token_uri"]
    google_revoke_uri: str = GOOGLE_DEFAULTS["google_revoke_uri"]
    google_userinfo_uri: str = GOOGLE_DEFAULTS["google_userinfo_uri"]
    gmail_api_endpoint: str = GOOGLE_DEFAULTS["gmail_api_endpoint"]
    risc_issuer: str = GOOGLE_DEFAULTS["risc_issuer"]
    risc_jwks_uri: str = GOOGLE_DEFAULTS["risc_jwks_uri"]
    risc_replay_window: int = 7 * 86400
    sandbox: bool = False
    sandbox_public: bool = False
    check_interval: int = 21600
    registration: str = "closed"
    registration_per_hour: int = 5
    webhook_private_targets: str = "refuse"
    connect_ttl: int = 900
    instance_path: str = "instance"
    log_level: str = "INFO"
    web_workers: int = 2
    web_threads: int = 8
    trusted_proxies: int = 0
    http_timeout: float = 10.0
    checker_concurrency: int = 0
    checker_batch: int = 500
    checker_sweep_seconds: int = 60
    gmail_upload_threshold: int = 4 * 1024 * 1024
    gmail_send_attempts: int = 3
    idempotency_lease_seconds: int = 300
    webhook_dispatch_threads: int = 4
    audit_retention_days: int = 180
    idempotency_retention_hours: int = 24
    webhook_retention_days: int = 7

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/oauth2/callback"

    @property
    def scopes(self) -> tuple[str, ...]:
        return SCOPES

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = Path(self.instance_path).resolve() / "gmail-oneclick.sqlite"
        return f"sqlite:///{path}"

    def retention(self) -> dict[str, int]:
        """How long records are kept, as the privacy export states it."""
        return {"audit_events_days": self.audit_retention_days,
                "idempotency_records_hours": self.idempotency_retention_hours,
                "webhook_events_days": self.webhook_retention_days}

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Raise SettingsError naming the first malformed variable."""
        from gmail_oneclick.domain.urls import check_service_url

        if self.registration not in {"open", "closed"}:
            raise SettingsError(f"{PREFIX}REGISTRATION must be 'open' or 'closed'")
        if self.webhook_private_targets not in {"refuse", "allow"}:
            raise SettingsError(f"{PREFIX}WEBHOOK_PRIVATE_TARGETS must be 'refuse' or 'allow'")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        if self.connect_ttl < 60:
            raise SettingsError(f"{PREFIX}CONNECT_TTL must be at least 60 seconds")
        if self.check_interval < 60:
            raise SettingsError(f"{PREFIX}CHECK_INTERVAL must be at least 60 seconds")
        if self.risc_replay_window < 3600:
            raise SettingsError(f"{PREFIX}RISC_REPLAY_WINDOW must be at least 3600 seconds")
        if self.checker_sweep_seconds < 1:
            raise SettingsError(f"{PREFIX}CHECKER_SWEEP_SECONDS must be at least 1")
        if self.idempotency_lease_seconds < 30:
            raise SettingsError(f"{PREFIX}IDEMPOTENCY_LEASE_SECONDS must be at least 30")
        # The contract promises that a repeated Idempotency-Key is answered for 24 hours.
        if self.idempotency_retention_hours < 24:
            raise SettingsError(f"{PREFIX}IDEMPOTENCY_RETENTION_HOURS must be at least 24")
        for name in ("audit_retention_days", "webhook_retention_days"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1")
        for name in ("public_url", *GOOGLE_DEFAULTS):
            value = getattr(self, name)
            if not check_service_url(value):
                raise SettingsError(
                    f"{PREFIX}{name.upper()} must be an https:// URL (http:// only on loopback)"
                )


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``env`` (default ``os.environ``) and the TOML file it names.

    Raises SettingsError naming the variable when a value is malformed.
    """
    env = os.environ if env is None else env
    toml = _read_toml(env)
    values = {var.name: _parse(var, _lookup(var, env, toml)) for var in VARIABLES}
    values.update(overrides)
    settings = Settings(**values)
    settings.validate()
    return settings


def env_example() -> str:
    """The text of config/env.example: every variable, no values."""
    lines = ["# Every setting of gmail-oneclick. Secrets may also be given as <NAME>_FILE=/path."]
    for var in VARIABLES:
        note = f"  (secret) {var.help}" if var.secret else f"  {var.help}" if var.help else ""
        lines.append(f"#{note}".rstrip() if note else "#")
        lines.append(f"{var.env}=")
    lines.append("# a TOML file with these settings in lower case under [gmail_oneclick]")
    lines.append(f"{PREFIX}CONFIG=")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # regenerate config/env.example
    print(env_example(), end="")
