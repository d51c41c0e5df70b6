"""The site admin's browser flow (README, API): connect page, its form, the OAuth callback.

Two cookies, both HttpOnly and SameSite=Lax (Secure when PUBLIC_URL is https):
- ``gmail_oneclick_csrf`` (path /connect/): double-submit CSRF token of the connect form;
- ``gmail_oneclick_browser`` (path /): a random browser id whose hash is stored with each
  OAuth state, so a callback is accepted only in the browser that started it. Both are reused
  while valid, so two tabs of one browser can each finish their own flow.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gmail_oneclick.domain.errors import ServiceError
from gmail_oneclick.domain.ids import new_secret
from gmail_oneclick.domain.model import rfc3339
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.cookies import csrf_matches, csrf_token, read_cookie, set_cookie
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.words import UNVERIFIED
from gmail_oneclick.services import consent
from gmail_oneclick.services.consent import STATE_TTL, LinkGone, LinkNotFound
from gmail_oneclick.services.consent_callback import Result, StateRejected, finish_consent

bp = Blueprint("consent", __name__)

CSRF_COOKIE = "gmail_oneclick_csrf"
BROWSER_COOKIE = "gmail_oneclick_browser"


def _page(template: str, code: int = 200, **context: object) -> Response:
    return Response(render_template(template, **context), status=code, mimetype="text/html")


def _error_page(title: str, exc: ServiceError) -> Response:
    return _page("error.html", exc.status, title=title, message=exc.message, status=exc.status)


@bp.get("/connect/<token>")
def connect_page(token: str) -> Response:
    c = container()
    try:
        with c.uow() as uow:
            page = consent.open_link(uow, c.clock, token)
    except (LinkNotFound, LinkGone) as exc:
        return _error_page("This link cannot be used", exc)
    csrf = csrf_token(CSRF_COOKIE)
    response = _page(
        "connect.html", page=page, csrf_token=csrf,
        action=url_for(".connect_submit", token=token),
        expires_at=rfc3339(page.expires_at),
        expires_at_text=page.expires_at.strftime("%H:%M UTC"),
    )
    set_cookie(response, CSRF_COOKIE, csrf, path="/connect/", max_age=c.settings.connect_ttl)
    return response


@bp.post("/connect/<token>")
def connect_submit(token: str) -> Response:
    c = container()
    try:
        # The link's state first: a second submit (back button, double click) is a 410 page.
        with c.uow() as uow:
            consent.open_link(uow, c.clock, token)
        if not csrf_matches(CSRF_COOKIE):
            return _page(
                "error.html", 400, status=400, title="Please try again",
                message="This page is out of date or was opened in another browser. "
                        "Reload the page and click “Continue with Google” again.",
            )
        browser_id = read_cookie(BROWSER_COOKIE) or new_secret()
        with c.uow() as uow:
            auth_url = consent.start_consent(
                uow, c.clock, c.google, token=token, browser_id=browser_id
            )
    except (LinkNotFound, LinkGone) as exc:
        return _error_page("This link cannot be used", exc)
    response = redirect(auth_url, code=303)
    set_cookie(response, BROWSER_COOKIE, browser_id, path="/",
               max_age=int(STATE_TTL.total_seconds()))
    return response


@bp.get("/oauth2/callback")
@declare(query=None)  # Google writes this query, and may add parameters of its own
def oauth_callback() -> Response:
    c = container()
    args = request.args
    try:
        outcome = finish_consent(
            c.uow, c.clock, c.google,
            state=args.get("state"), browser_id=read_cookie(BROWSER_COOKIE),
            code=args.get("code"), error=args.get("error"),
            check_interval=c.settings.check_interval,
        )
    except StateRejected as exc:
        return _error_page("This sign-in cannot be completed", exc)
    if outcome.result is Result.SCOPE_MISSING:
        return _page("scope_missing.html", site_name=outcome.site_name,
                     back_url=outcome.redirect_url)
    if outcome.result is Result.UNVERIFIED:
        return _page(
            "notice.html", 400, title="Email address not verified",
            message=f"{UNVERIFIED.sentence} {UNVERIFIED.next_step}",
            back_url=outcome.redirect_url, site_name=outcome.site_name,
        )
    return redirect(outcome.redirect_url, code=303)
