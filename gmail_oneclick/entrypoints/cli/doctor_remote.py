"""``gmail-oneclick doctor``: the checks that go over the network.

Google's endpoints are probed with requests that cannot do anything (no parameters, or a
refresh token that cannot exist): any HTTP answer proves the endpoint reachable. Nothing read
or sent here is printed beyond a status code, a header date or an exception's type name.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from gmail_oneclick.domain.netpolicy import TargetPolicy
from gmail_oneclick.settings import GOOGLE_DEFAULTS, PREFIX, Settings

OK, WARN, FAIL = "ok", "warn", "fail"

# Standard Webhooks receivers refuse a timestamp more than five minutes off, and a skewed
# clock keeps using access tokens Google has expired: a minute is already worth fixing.
SKEW_WARN_SECONDS = 10.0
SKEW_FAIL_SECONDS = 60.0


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is ok, warn or fail; ``next_step`` says what to do."""

    name: str
    status: str
    message: str
    next_step: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message,
                "next_step": self.next_step}


# name, settings field, method: what each endpoint is probed with (no credentials).
ENDPOINTS = (
    ("google_auth_uri", "google_auth_uri", "GET"),
    ("google_revoke_uri", "google_revoke_uri", "POST"),
    ("google_userinfo_uri", "google_userinfo_uri", "GET"),
    ("gmail_api_endpoint", "gmail_api_endpoint", "GET"),
)


def _request(settings: Settings, method: str, url: str,
             data: dict[str, str] | None = None) -> requests.Response:
    """One request within the settings' timeout, no redirects followed. Raises
    requests.RequestException when nothing answered."""
    with requests.Session() as session:
        return session.request(method, url, data=data, timeout=settings.http_timeout,
                               allow_redirects=False)


def _unreachable(name: str, url: str, settings: Settings, exc: Exception) -> Check:
    what = (f"did not answer within {settings.http_timeout:g} s"
            if isinstance(exc, requests.Timeout)
            else f"could not be reached ({type(exc).__name__})")
    return Check(name, FAIL, f"{url} {what}",
                 f"check {PREFIX}{name.upper()}, DNS and the outbound firewall or proxy; "
                 "in sandbox mode the service itself must be running")


def check_endpoint(settings: Settings, name: str, field: str, method: str) -> Check:
    """Reachable when anything but a 5xx answers (Google answers 400/401/404 to a bare call)."""
    url = getattr(settings, field)
    try:
        response = _request(settings, method, url)
    except requests.RequestException as exc:
        return _unreachable(name, url, settings, exc)
    if response.status_code >= 500:
        return Check(name, WARN, f"{url} answered HTTP {response.status_code}",
                     "Google may be having an outage: check again in a few minutes")
    return Check(name, OK, f"{url} reachable (HTTP {response.status_code})")


def check_token_endpoint(settings: Settings) -> Check:
    """The token endpoint reachable, and the client id and secret accepted: a refresh with a
    token that cannot exist is answered invalid_grant for a known client, invalid_client else."""
    url = settings.google_token_uri
    form = {"grant_type": "refresh_token", "refresh_token": "doctor-" + secrets.token_hex(8),
            "client_id": settings.google_client_id,
            "client_secret": settings.google_client_secret}
    try:
        response = _request(settings, "POST", url, form)
    except requests.RequestException as exc:
        return _unreachable("google_token_uri", url, settings, exc)
    code = _oauth_error(response)
    if code == "invalid_grant":
        return Check("google_token_uri", OK, f"{url} reachable and accepts the OAuth client")
    if code == "invalid_client" or response.status_code == 401:
        return Check("google_token_uri", FAIL, f"{url} refuses the OAuth client (invalid_client)",
                     f"copy {PREFIX}GOOGLE_CLIENT_ID and {PREFIX}GOOGLE_CLIENT_SECRET again from "
                     "the Google Cloud console (APIs & Services > Credentials, a Web client)")
    return Check("google_token_uri", WARN,
                 f"{url} answered HTTP {response.status_code} {code or ''}".rstrip(),
                 "check that the URL is Google's token endpoint and try again later")


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def check_risc_keys(settings: Settings) -> Check:
    """The RISC issuer's signing keys: a JSON key set with at least one key that has a kid."""
    url = settings.risc_jwks_uri
    try:
        response = _request(settings, "GET", url)
    except requests.RequestException as exc:
        return _unreachable("risc_jwks_uri", url, settings, exc)
    next_step = (f"check {PREFIX}RISC_JWKS_URI (unset, it is Google's "
                 f"{GOOGLE_DEFAULTS['risc_jwks_uri']})")
    if response.status_code != 200:
        return Check("risc_jwks_uri", FAIL, f"{url} answered HTTP {response.status_code}",
                     next_step)
    try:
        keys = response.json().get("keys")
    except (ValueError, AttributeError):
        keys = None
    usable = [k for k in keys or [] if isinstance(k, dict) and k.get("kid")]
    if not usable:
        return Check("risc_jwks_uri", FAIL, f"{url} holds no signing key with a kid", next_step)
    return Check("risc_jwks_uri", OK,
                 f"{len(usable)} RISC signing key(s) fetched for issuer {settings.risc_issuer}")


def check_clock(settings: Settings, now: Callable[[], datetime] | None = None) -> Check:
    """This host's clock against the ``Date`` of Google's token endpoint."""
    clock = now or (lambda: datetime.now(UTC))
    url = settings.google_token_uri
    before = clock()
    try:
        response = _request(settings, "POST", url)
    except requests.RequestException:
        return Check("clock", WARN, f"could not read the time from {url}",
                     "see google_token_uri; check the clock with NTP meanwhile")
    after = clock()
    try:
        theirs = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return Check("clock", WARN, f"{url} sent no usable Date header",
                     "make sure the host's clock is synchronised (NTP)")
    ours = before + (after - before) / 2
    skew = (ours - theirs).total_seconds()
    text = f"this host's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Google's"
    if abs(skew) > SKEW_FAIL_SECONDS:
        return Check("clock", FAIL, text, "synchronise the clock (NTP, e.g. chrony or "
                     "systemd-timesyncd): webhook receivers refuse skewed timestamps")
    if abs(skew) > SKEW_WARN_SECONDS:
        return Check("clock", WARN, text, "synchronise the clock (NTP)")
    return Check("clock", OK, f"clock within {SKEW_WARN_SECONDS:g} s of Google's")


Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (raises OSError when it does not)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def webhook_problem(url: str, policy: TargetPolicy, resolver: Resolver) -> str | None:
    """Why webhooks to ``url`` would not be delivered, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    if not host or policy.refuses_host(host):
        return "is not a public address"
    try:
        addresses = list(resolver(host, parts.port or (443 if parts.scheme == "https" else 80)))
    except OSError:
        return "does not resolve"
    if not addresses:
        return "does not resolve"
    if not all(map(policy.allows_address, addresses)):
        return "resolves to a non-public address"
    return None


def check_webhooks(settings: Settings, sites: Iterable[tuple[str, str]],
                   resolver: Resolver = resolve) -> Check:
    """Every site's webhook URL (``(site_id, url)`` pairs) resolves to an address the
    TargetPolicy lets webhooks reach."""
    policy = TargetPolicy.from_settings(settings)
    problems, count = [], 0
    for site_id, url in sites:
        count += 1
        problem = webhook_problem(url, policy, resolver)
        if problem:
            problems.append(f"{site_id}'s webhook URL {problem}")
    if not problems:
        return Check("webhooks", OK, f"{count} webhook URL(s) resolve to allowed addresses")
    shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if problems[5:] else "")
    private = any("public" in p for p in problems)
    # No advice to re-add the site: removing it would purge its connections.
    step = ("have the webhook host resolve to a public address, or set " + PREFIX +
            "WEBHOOK_PRIVATE_TARGETS=allow if the receivers are on a private network"
            ) if private else "fix the site's DNS; webhooks are retried for a day"
    return Check("webhooks", FAIL if private else WARN, shown, step)
