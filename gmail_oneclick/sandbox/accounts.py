"""The accounts.google.com / oauth2.googleapis.com side of the sandbox, as Flask views.

Consent (authorization endpoint + consent form), token, revoke, userinfo, tokeninfo, and the
user's "Third-party access" page. Every link is built with url_for so the app works when
mounted under a prefix.
"""

from __future__ import annotations

import hmac
import re
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from gmail_oneclick.domain.model import GMAIL_SEND, USERINFO_EMAIL
from gmail_oneclick.sandbox.records import (
    EMAIL_SCOPES,
    SIGN_IN_SCOPES,
    OAuthError,
    PendingRequest,
)
from gmail_oneclick.sandbox.tokens import Issued, scope_string

if TYPE_CHECKING:
    from gmail_oneclick.sandbox.state import SandboxState

bp = Blueprint("sandbox_accounts", __name__)

CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
PENDING_LIFETIME = timedelta(minutes=30)  # a person may dawdle on the consent page
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SCOPE_LABELS = {
    GMAIL_SEND: "Send email on your behalf",
    USERINFO_EMAIL: "See your primary Google Account email address",
    "https://www.googleapis.com/auth/userinfo.profile": "See your personal info",
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info",
}


class AuthPageError(Exception):
    """An authorization request Google would answer with its own error page, not a redirect."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(error)
        self.status, self.error, self.description = status, error, description


def sandbox_state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox_state"]
    return state


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    response.headers["Pragma"] = "no-cache"
    return response


def oauth_error(exc: OAuthError) -> ResponseReturnValue:
    return json_response({"error": exc.error, "error_description": exc.description}, exc.status)


@bp.errorhandler(AuthPageError)
def _auth_page_error(exc: AuthPageError) -> ResponseReturnValue:
    page = render_template(
        "error.html", status=exc.status, error=exc.error, description=exc.description
    )
    return page, exc.status


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("home.html", state=sandbox_state())


# -- authorization ---------------------------------------------------------------------------
def redirect_uri_allowed(state: SandboxState, uri: str) -> bool:
    """Registered URIs only; with none registered, any loopback http .../oauth2/callback."""
    if state.redirect_uris:
        return uri in state.redirect_uris
    parts = urlsplit(uri)
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and parts.path == "/oauth2/callback"
        and not parts.query
        and not parts.fragment
    )


def _validate(state: SandboxState, args: Any) -> PendingRequest:
    client_id = args.get("client_id", "")
    if not hmac.compare_digest(client_id.encode(), state.client_id.encode()):
        raise AuthPageError(401, "invalid_client", "The OAuth client was not found.")
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri_allowed(state, redirect_uri):
        raise AuthPageError(400, "redirect_uri_mismatch", "The redirect_uri is not registered.")
    if args.get("response_type") != "code":
        raise AuthPageError(400, "invalid_request", "Invalid response_type: only code.")
    scopes = tuple(dict.fromkeys(args.get("scope", "").split()))
    if not scopes:
        raise AuthPageError(400, "invalid_request", "Missing required parameter: scope")
    unknown = [s for s in scopes if s not in SCOPE_LABELS and not s.startswith(
        "https://www.googleapis.com/auth/")]
    if unknown:
        raise AuthPageError(400, "invalid_scope", f"Some requested scopes were invalid: {unknown}")
    challenge = args.get("code_challenge", "")
    if args.get("code_challenge_method") != "S256" or not CHALLENGE.match(challenge):
        raise AuthPageError(
            400, "invalid_request", "PKCE is required: code_challenge with method S256."
        )
    return PendingRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=args.get("state"),
        code_challenge=challenge,
        offline=args.get("access_type") == "offline",
        prompt_consent="consent" in args.get("prompt", "").split(),
        login_hint=args.get("login_hint"),
        expires_at=state.now() + PENDING_LIFETIME,
    )


def _consent_page(state: SandboxState, pending: PendingRequest, message: str = "") -> str:
    request_id = state.add_pending(pending)
    hint = (pending.login_hint or "").lower()
    return render_template(
        "consent.html",
        client_name=state.client_name,
        request_id=request_id,
        accounts=state.accounts,
        selected=hint if state.account(hint) else "",
        other_email="" if state.account(hint) else (pending.login_hint or ""),
        optional=[(s, SCOPE_LABELS.get(s, s)) for s in pending.scopes if s not in SIGN_IN_SCOPES],
        sign_in=[SCOPE_LABELS.get(s, s) for s in pending.scopes if s in SIGN_IN_SCOPES],
        message=message,
    )


@bp.get("/o/oauth2/v2/auth")
def authorize() -> ResponseReturnValue:
    state = sandbox_state()
    return _consent_page(state, _validate(state, request.args))


@bp.post("/o/oauth2/v2/auth/consent")
def consent() -> ResponseReturnValue:
    state = sandbox_state()
    pending = state.take_pending(request.form.get("request_id", ""))
    if pending is None:
        raise AuthPageError(400, "invalid_request", "This sign-in request expired; start again.")
    back: dict[str, str] = {"state": pending.state} if pending.state is not None else {}
    if request.form.get("action") != "allow":
        return _back(pending, {"error": "access_denied", **back})
    email = request.form.get("account", "") or request.form.get("other_email", "").strip()
    if "@" not in email:
        return _consent_page(state, pending, "Choose an account to continue.")
    account = state.account(email) or state.add_account(email)
    ticked = set(request.form.getlist("scope"))
    granted = frozenset(s for s in pending.scopes if s in SIGN_IN_SCOPES or s in ticked)
    code = state.issue_code(pending, account, granted)
    query = {**back, "code": code, "scope": scope_string(granted), "authuser": "0"}
    return _back(pending, {**query, "prompt": "consent"})


def _back(pending: PendingRequest, params: dict[str, str]) -> ResponseReturnValue:
    return redirect(pending.redirect_uri + "?" + urlencode(params), code=302)


# -- token endpoint --------------------------------------------------------------------------
def _client_id(state: SandboxState) -> str:
    """Accepts client_secret_basic and client_secret_post; raises invalid_client otherwise."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username or "", auth.password or ""
    else:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret", "")
    if not client_id:
        raise OAuthError("invalid_request", "Could not determine client ID from request.")
    if not hmac.compare_digest(client_id.encode(), state.client_id.encode()):
        raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
    if not hmac.compare_digest(secret.encode(), state.client_secret.encode()):
        raise OAuthError("invalid_client", "Unauthorized", 401)
    return client_id


def _fault(state: SandboxState, kind: str) -> ResponseReturnValue:
    if kind == "timeout":
        time.sleep(state.slow_seconds)
    if kind == "invalid_client":
        return json_response({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
    if kind == "429":
        response = json_response(
            {"error": "rate_limit_exceeded", "error_description": "Rate Limit Exceeded"}, 429
        )
        response.headers["Retry-After"] = str(state.retry_after_seconds)
        return response
    if kind == "500":
        body = {"error": "internal_failure", "error_description": "Backend Error"}
        return json_response(body, 500)
    return json_response(
        {"error": "temporarily_unavailable", "error_description": "Service unavailable"}, 503
    )


@bp.post("/token")
def token() -> ResponseReturnValue:
    state = sandbox_state()
    fault = state.take_token_fault()
    if fault is not None:
        return _fault(state, fault)
    client_id = _client_id(state)
    grant_type = request.form.get("grant_type", "")
    form = request.form
    if grant_type == "authorization_code":
        issued = state.exchange_code(
            client_id, form.get("code", ""), form.get("code_verifier", ""),
            form.get("redirect_uri", ""),
        )
    elif grant_type == "refresh_token":
        issued = state.refresh(client_id, form.get("refresh_token", ""), form.get("scope"))
    elif not grant_type:
        raise OAuthError("invalid_request", "Missing required parameter: grant_type")
    else:
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    return json_response(_with_id_token(state, issued))


def _with_id_token(state: SandboxState, issued: Issued) -> dict[str, Any]:
    body = dict(issued.body)
    if "openid" not in body["scope"].split():
        return body
    now = int(time.time())
    account = issued.account
    claims: dict[str, Any] = {
        "iss": state.issuer_base(), "azp": state.client_id, "aud": state.client_id,
        "sub": account.sub, "iat": now, "exp": now + 3600,
    }
    if issued.scopes & EMAIL_SCOPES:
        claims.update(email=account.email, email_verified=account.email_verified)
    body["id_token"] = state.sign_jwt(claims)
    return body
