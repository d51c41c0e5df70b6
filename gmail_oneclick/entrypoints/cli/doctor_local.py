"""``gmail-oneclick doctor``: the checks of settings, database, keyring and stored history.

Each check returns a doctor_remote.Check; none prints, and none names a secret (key ids and
variable names are not secrets, key bytes and the client secret are).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select

from gmail_oneclick.adapters.storage import deployment
from gmail_oneclick.adapters.storage.migrate import alembic_config, current_revision
from gmail_oneclick.adapters.storage.tables import audit_events, connections, sites
from gmail_oneclick.domain.urls import is_loopback_host
from gmail_oneclick.entrypoints.cli.doctor_remote import FAIL, OK, WARN, Check
from gmail_oneclick.settings import PREFIX, Settings
from token_store import DecryptionError, Keyring
from token_store.envelope import unwrap_data_key
from token_store.sql import data_keys

UPGRADE = "run 'gmail-oneclick db upgrade' (with the service's settings)"
# Google lets a refresh token of an app whose consent screen is in "Testing" live 7 days; it
# is found dead at the next refresh, at most one check interval (plus a day's slack) later.
TESTING_LIFETIME = timedelta(days=7)
TESTING_LOOKBACK = timedelta(days=30)


def check_settings(settings: Settings) -> Check:
    """Complete and consistent: an OAuth client outside sandbox mode; no risky switch left on."""
    if not settings.sandbox:
        missing = [f"{PREFIX}{name.upper()}" for name in ("google_client_id",
                   "google_client_secret") if not getattr(settings, name)]
        if missing:
            return Check("settings", FAIL, f"{' and '.join(missing)} not set",
                         "create an OAuth client (type Web application) in the Google Cloud "
                         "console, APIs & Services > Credentials, and set both; or set "
                         f"{PREFIX}SANDBOX=1 to try the bundled Google sandbox")
        if settings.webhook_private_targets == "allow":
            return Check("settings", WARN,
                         f"{PREFIX}WEBHOOK_PRIVATE_TARGETS=allow lets sites reach private "
                         "addresses", "unset it unless every site is on a private network")
        return Check("settings", OK, "settings complete (a real Google OAuth client)")
    if settings.sandbox_public:
        return Check("settings", WARN,
                     f"sandbox mode on a public host ({PREFIX}SANDBOX_PUBLIC=1): anyone can sign "
                     "in as anyone", "never give it real users or real mail")
    return Check("settings", OK, "settings complete (sandbox mode: the bundled Google emulator)")


def check_public_url(settings: Settings) -> Check:
    """PUBLIC_URL https (load_settings already refuses http off loopback), and the redirect URI
    the operator must register at Google."""
    url, redirect = settings.public_url, settings.redirect_uri
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return Check("public_url", FAIL, f"{PREFIX}PUBLIC_URL {url} carries a query or fragment",
                     "give the bare base URL, e.g. https://mail.example.com")
    if settings.sandbox:
        return Check("public_url", OK, f"redirect URI {redirect} (sandbox mode)")
    if parts.scheme != "https":
        # Allowed for development against a real client on this machine (Google accepts
        # http://localhost redirect URIs), but nobody else can finish a consent, and cookies
        # are not Secure: a warning, not a failure.
        host = parts.hostname or ""
        where = "loopback" if is_loopback_host(host) else host
        return Check("public_url", WARN, f"{PREFIX}PUBLIC_URL is http:// on {where}: only this "
                     "machine can complete a consent and cookies are not Secure",
                     f"set {PREFIX}PUBLIC_URL to the service's https:// address before going "
                     "live and register its redirect URI at Google")
    return Check("public_url", OK, f"redirect URI {redirect}",
                 "register exactly this URI in the OAuth client's Authorized redirect URIs")


def check_database(settings: Settings, engine: Engine) -> Check:
    """Reachable, migrated to the newest revision, and marked for this mode."""
    try:
        found = current_revision(engine)
        with engine.connect() as conn:
            mode = deployment.read_mode(conn)
    except Exception as exc:  # any driver's failure: a line naming its kind, never the URL
        return Check("database", FAIL, f"database unreachable ({type(exc).__name__})",
                     f"check {PREFIX}DATABASE_URL and that the database server is up")
    head = ScriptDirectory.from_config(alembic_config(settings.sqlalchemy_url)).get_current_head()
    if found != head:
        state = "not migrated" if found is None else f"at revision {found}, not {head}"
        return Check("database", FAIL, f"database reachable but {state}", UPGRADE)
    problem = deployment.problem(mode, deployment.mode_of(settings.sandbox))
    if problem:
        return Check("database", FAIL, problem.split(":")[0],
                     problem.split(": ", 1)[1] if ": " in problem else UPGRADE)
    return Check("database", OK, f"database reachable, migrated ({head}), {mode} mode")


def check_keyring(keyring: Keyring, engine: Engine) -> Check:
    """Every stored data key opens under the keyring (its key id present, and the key right)."""
    if not inspect(engine).has_table(data_keys.name):
        return Check("keyring", OK, f"keyring loaded (primary {keyring.primary_id}); no data yet")
    missing: set[str] = set()
    unopened: set[str] = set()
    total = 0
    with engine.connect() as conn:
        for row in conn.execute(select(data_keys.c.owner, data_keys.c.kek_id,
                                       data_keys.c.wrapped_key)):
            total += 1
            if row.kek_id not in keyring.keys:
                missing.add(row.kek_id)
                continue
            try:
                unwrap_data_key(keyring, row.owner, row.kek_id, bytes(row.wrapped_key))
            except DecryptionError:
                unopened.add(row.kek_id)
    if missing:
        return Check("keyring", FAIL, f"key id(s) {', '.join(sorted(missing))} used by stored "
                     "data are missing from the keyring",
                     f"add the missing entries back to {PREFIX}ENCRYPTION_KEYS (after the "
                     "primary), then run 'gmail-oneclick keys rotate'")
    if unopened:
        return Check("keyring", FAIL, f"key id(s) {', '.join(sorted(unopened))} do not open "
                     "the data keys stored under them (a different key with the same id?)",
                     f"restore the original entries in {PREFIX}ENCRYPTION_KEYS")
    return Check("keyring", OK, f"keyring opens all {total} stored data key(s) "
                 f"(primary {keyring.primary_id})")


def webhook_urls(engine: Engine) -> list[tuple[str, str]]:
    """(site id, webhook URL) of every site that has one."""
    with engine.connect() as conn:
        rows = conn.execute(select(sites.c.id, sites.c.webhook_url)
                            .where(sites.c.webhook_url.is_not(None)).order_by(sites.c.id))
        return [(r.id, r.webhook_url) for r in rows if r.webhook_url]


def testing_mode_deaths(engine: Engine, settings: Settings, now: datetime) -> int:
    """Connections revoked with invalid_grant (in the last 30 days) about 7 days after their
    last consent: the mark of an OAuth consent screen left in "Testing"."""
    low = TESTING_LIFETIME - timedelta(hours=2)
    high = TESTING_LIFETIME + timedelta(days=1, seconds=settings.check_interval)
    revoked = _invalid_grant_revocations(engine, now - TESTING_LOOKBACK)
    consents = _consent_times(engine, revoked)
    count = 0
    for connection_id, at in revoked.items():
        before = [c for c in consents.get(connection_id, []) if c <= at]
        if before and low <= at - max(before) <= high:
            count += 1
    return count


def _utc(value: datetime) -> datetime:
    """A timestamp read back from SQLite (naive, UTC) made aware."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _invalid_grant_revocations(engine: Engine, since: datetime) -> dict[str, datetime]:
    query = (select(audit_events.c.connection_id, audit_events.c.at, audit_events.c.data)
             .where(audit_events.c.type == "connection:revoked", audit_events.c.at >= since,
                    audit_events.c.connection_id.is_not(None)))
    with engine.connect() as conn:
        return {r.connection_id: _utc(r.at) for r in conn.execute(query)
                if isinstance(r.data, dict) and r.data.get("reason") == "invalid_grant"}


def _consent_times(engine: Engine, ids: Iterable[str]) -> dict[str, list[datetime]]:
    """Each connection's consents: its ``connection:connected`` audit records, and its
    created_at (the audit trail may have been pruned)."""
    wanted = list(ids)
    found: dict[str, list[datetime]] = {i: [] for i in wanted}
    if not wanted:
        return found
    with engine.connect() as conn:
        for row in conn.execute(select(connections.c.id, connections.c.created_at)
                                .where(connections.c.id.in_(wanted))):
            found[row.id].append(_utc(row.created_at))
        for row in conn.execute(select(audit_events.c.connection_id, audit_events.c.at).where(
                audit_events.c.type == "connection:connected",
                audit_events.c.connection_id.in_(wanted))):
            found[row.connection_id].append(_utc(row.at))
    return found


def check_testing_mode(engine: Engine, settings: Settings, now: Any = None) -> Check:
    """Fails on two or more connections dying ~7 days after consent (one: a warning)."""
    if settings.sandbox:
        return Check("testing_mode", OK, "not applicable in sandbox mode")
    deaths = testing_mode_deaths(engine, settings, now or datetime.now(UTC))
    if not deaths:
        return Check("testing_mode", OK, "no connection died about 7 days after its consent")
    text = (f"{deaths} connection(s) lost their grant (invalid_grant) about 7 days after "
            "consent: Google's limit for apps whose OAuth consent screen is in Testing")
    step = ("publish the OAuth consent screen (Google Cloud console, Google Auth Platform > "
            "Audience > Publish app); the admins must then connect again")
    return Check("testing_mode", FAIL if deaths > 1 else WARN, text, step)
