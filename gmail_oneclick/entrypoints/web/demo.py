"""Sandbox-only demo pages: a stand-in for the WordPress plugin's settings screen.

"Connect Gmail" creates a connect link for the demo site exactly as POST /v1/connections does
and sends the browser through the real flow. The screen lists the site's connections in words;
"Send test email" and "Disconnect" go through the same use cases as POST /v1/messages and
DELETE /v1/connections/{id}. Each action redirects back (so a reload repeats nothing) with its
result in the query, which demo_view.py turns into a sentence. Registered only in sandbox mode.
"""

from __future__ import annotations

import io
import json
from email.message import EmailMessage
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from gmail_oneclick.domain.errors import ServiceError
from gmail_oneclick.domain.ids import new_secret
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.api_messages import sending
from gmail_oneclick.entrypoints.web.cookies import csrf_matches, csrf_token, set_cookie
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.demo_site import DEMO_PATH, ensure_demo_site
from gmail_oneclick.entrypoints.web.demo_view import RESULT_KEYS, notice, rows, sandbox_links
from gmail_oneclick.services import connections, consent, revocation
from gmail_oneclick.services.sending import Outgoing, send_message

bp = Blueprint("demo", __name__, url_prefix=DEMO_PATH)

CSRF_COOKIE = "gmail_oneclick_demo_csrf"
TEST_SUBJECT = "Test email from the gmail-oneclick demo"
DEFAULT_TEXT = "This is a test email sent by the gmail-oneclick demo."
MAX_TEXT = 2000  # what a person types in one box; far below any message limit


def _page(csrf: str, status: int = 200) -> Response:
    c = container()
    site = ensure_demo_site(c)
    with c.uow() as uow:
        found = connections.list_for_site(uow, site.id)
    result = {k: request.args[k] for k in RESULT_KEYS if k in request.args}
    listing = json.dumps({"connections": [x.to_public() for x in found]}, indent=2)
    html = render_template(
        "demo.html", site=site, csrf_token=csrf, rows=rows(found),
        notice=notice(result, found), listing=listing,
        links=sandbox_links(c.settings.public_url), max_text=MAX_TEXT,
    )
    response = Response(html, status=status, mimetype="text/html")
    set_cookie(response, CSRF_COOKIE, csrf, path=DEMO_PATH)
    return response


def _back(**result: str) -> Response:
    """To the demo screen with an action's result (ids and codes only, never content)."""
    return redirect(f"{DEMO_PATH}?{urlencode(result)}", code=303)


@bp.before_request
def _refuse_forged_posts() -> Response | None:
    """Every demo action is a POST carrying the page's CSRF token; one without it gets the
    page again, with a fresh token, and nothing done."""
    if request.method == "POST" and not csrf_matches(CSRF_COOKIE):
        return _page(new_secret(), status=400)
    return None


@bp.get("")
@bp.get("/return")
@declare(query=RESULT_KEYS)
def home() -> Response:
    return _page(csrf_token(CSRF_COOKIE))


@bp.post("/connect")
def connect() -> Response:
    c = container()
    site = ensure_demo_site(c)
    with c.uow() as uow:
        link = consent.create_connect_link(
            uow, c.clock, site, public_url=c.settings.public_url,
            ttl_seconds=c.settings.connect_ttl,
            return_url=c.settings.public_url.rstrip("/") + DEMO_PATH + "/return",
        )
    return redirect(link.url, code=303)


def _test_message(email: str, typed: str) -> bytes:
    """The test email: from the connected account to itself, carrying only what was typed."""
    message = EmailMessage()
    message["From"] = message["To"] = email
    message["Subject"] = TEST_SUBJECT
    message.set_content(typed.strip()[:MAX_TEXT] or DEFAULT_TEXT)
    return message.as_bytes()


@bp.post("/send")
def send_test() -> Response:
    c = container()
    site = ensure_demo_site(c)
    connection_id = request.form.get("connection_id", "")
    try:
        with c.uow() as uow:
            email = connections.get_for_site(uow, site.id, connection_id).email or ""
        raw = _test_message(email, request.form.get("text", ""))
        result = send_message(sending(), Outgoing(
            site_id=site.id, message=io.BytesIO(raw), size=len(raw),
            connection_id=connection_id))
    except ServiceError as exc:
        return _back(done="send_failed", code=exc.code, connection_id=connection_id)
    return _back(done="test_sent", connection_id=connection_id, gmail_id=result.id)


@bp.post("/disconnect")
def disconnect() -> Response:
    c = container()
    site = ensure_demo_site(c)
    connection_id = request.form.get("connection_id", "")
    try:
        revocation.disconnect(c.uow, c.google, c.clock, site_id=site.id,
                              connection_id=connection_id)
    except ServiceError as exc:
        return _back(done="disconnect_failed", code=exc.code, connection_id=connection_id)
    return _back(done="disconnected", connection_id=connection_id)
