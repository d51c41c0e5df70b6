"""Sandbox-only demo pages: a stand-in for the WordPress plugin's settings screen.

"Connect Gmail" creates a connect link for the demo site exactly as POST /v1/connections does
and sends the browser through the real flow; the return page shows the result and the site's
connections as GET /v1/connections would. Registered only when the sandbox is on.
"""

from __future__ import annotations

import json

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from gmail_oneclick.domain.ids import new_secret
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.entrypoints.web.cookies import csrf_matches, csrf_token, set_cookie
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.demo_site import DEMO_PATH, ensure_demo_site
from gmail_oneclick.services import connections, consent

bp = Blueprint("demo", __name__, url_prefix=DEMO_PATH)

CSRF_COOKIE = "gmail_oneclick_demo_csrf"
RESULT_KEYS = ("gmail_oneclick", "connection_id", "reason")


def _page(csrf: str, status: int = 200) -> Response:
    c = container()
    site = ensure_demo_site(c)
    with c.uow() as uow:
        found = connections.list_for_site(uow, site.id)
    listing = json.dumps({"connections": [x.to_public() for x in found]}, indent=2)
    result = {k: request.args[k] for k in RESULT_KEYS if k in request.args}
    html = render_template(
        "demo.html", site=site, csrf_token=csrf, listing=listing, result=result,
        sandbox_url=c.settings.public_url.rstrip("/") + "/_sandbox/google/",
    )
    response = Response(html, status=status, mimetype="text/html")
    set_cookie(response, CSRF_COOKIE, csrf, path=DEMO_PATH)
    return response


@bp.get("")
@bp.get("/return")
@declare(query=RESULT_KEYS)
def home() -> Response:
    return _page(csrf_token(CSRF_COOKIE))


@bp.post("/connect")
def connect() -> Response:
    if not csrf_matches(CSRF_COOKIE):
        return _page(new_secret(), status=400)
    c = container()
    site = ensure_demo_site(c)
    with c.uow() as uow:
        link = consent.create_connect_link(
            uow, c.clock, site, public_url=c.settings.public_url,
            ttl_seconds=c.settings.connect_ttl,
            return_url=c.settings.public_url.rstrip("/") + DEMO_PATH + "/return",
        )
    return redirect(link.url, code=303)
