"""Revoke, userinfo and tokeninfo endpoints, and the user's "Third-party access" page."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from gmail_oneclick.sandbox.accounts import SCOPE_LABELS, json_response, sandbox_state
from gmail_oneclick.sandbox.records import EMAIL_SCOPES
from gmail_oneclick.sandbox.tokens import scope_string

bp = Blueprint("sandbox_identity", __name__)


@bp.route("/revoke", methods=["GET", "POST"])
def revoke() -> ResponseReturnValue:
    """Google takes the token from the form body or the query string; both end the grant."""
    sandbox_state().revoke_token(request.values.get("token", ""))
    return json_response({})


def _bearer() -> str:
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if kind.lower() == "bearer" else ""


@bp.get("/v1/userinfo")
@bp.get("/oauth2/v3/userinfo")
def userinfo() -> ResponseReturnValue:
    info = sandbox_state().access_token_info(_bearer())
    if info is None:
        response = json_response(
            {"error": "invalid_request", "error_description": "Invalid Credentials"}, 401
        )
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="https://accounts.google.com/", error="invalid_token"'
        )
        return response
    account = sandbox_state().account(info.email)
    assert account is not None  # accounts are never deleted
    body: dict[str, object] = {"sub": account.sub, "picture": account.picture}
    if info.scopes & EMAIL_SCOPES:
        body.update(email=account.email, email_verified=account.email_verified)
    return json_response(body)


@bp.route("/tokeninfo", methods=["GET", "POST"])
def tokeninfo() -> ResponseReturnValue:
    """Google's shape, strings included (``expires_in`` and ``email_verified`` are strings)."""
    state = sandbox_state()
    info = state.access_token_info(request.values.get("access_token", ""))
    if info is None:
        return json_response({"error": "invalid_token", "error_description": "Invalid Value"}, 400)
    left = max(0, int((info.expires_at - state.now()).total_seconds()))
    account = state.account(info.email)
    assert account is not None
    body = {
        "azp": info.client_id,
        "aud": info.client_id,
        "sub": info.sub,
        "scope": scope_string(info.scopes),
        "exp": str(int(info.expires_at.timestamp())),
        "expires_in": str(left),
    }
    if info.scopes & EMAIL_SCOPES:
        body.update(email=info.email, email_verified=str(account.email_verified).lower())
    return json_response(body)


@bp.route("/myaccount/permissions", methods=["GET", "POST"])
def permissions() -> ResponseReturnValue:
    """The operator's view of live grants; "Remove access" acts as the user would at Google."""
    state = sandbox_state()
    message = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        statuses = state.remove_access(email)
        pushed = f" RISC receiver answered {statuses}." if statuses else ""
        message = f"Access removed for {email}.{pushed}"
    grants = {grant.account.email: grant for grant in state.live_grants()}
    return render_template(
        "permissions.html", accounts=state.accounts, grants=grants, message=message,
        risc_push_url=state.risc_push_url, client_name=state.client_name,
        scope_labels=SCOPE_LABELS,
    )
