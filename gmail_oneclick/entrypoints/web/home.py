"""The landing page at ``/``, in every mode: what this service is, its version, whether it is
ready (what /readyz checks, in words), and where to go next."""

from __future__ import annotations

from importlib import metadata

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from gmail_oneclick.entrypoints.web import container, ops
from gmail_oneclick.entrypoints.web.declare import declare
from gmail_oneclick.entrypoints.web.demo_view import sandbox_links

bp = Blueprint("home", __name__)

DISTRIBUTION = "gmail-oneclick"
# What each of readyz's checks means for a person; anything else is shown as reported.
CHECK_WORDS = {
    ("database", "ok"): "The database answers.",
    ("database", "unreachable"): "The database cannot be reached.",
    ("database_mode", "ok"): "The database belongs to this mode (sandbox or real Google).",
    ("database_mode", "sandbox_database"): "The database was made for sandbox mode, but this "
                                           "process talks to real Google.",
    ("database_mode", "google_database"): "The database was made for real Google, but this "
                                          "process runs in sandbox mode.",
    ("keyring", "ok"): "The encryption keyring is loaded.",
    ("keyring", "missing"): "No encryption key is loaded.",
}


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a tree that was never installed
        return "unknown"


def health() -> tuple[bool, list[str]]:
    """(ready, one sentence per check), from the very checks /readyz answers with."""
    answer = ops.readyz().get_json()
    sentences = []
    for name, value in answer["checks"].items():
        default = f"The {name.replace('_', ' ')} check reports “{value.replace('_', ' ')}”."
        sentences.append(CHECK_WORDS.get((name, value), default))
    return answer["status"] == "ready", sentences


@bp.get("/")
@declare()
def landing() -> Response:
    c = container()
    ready, checks = health()
    links = sandbox_links(c.settings.public_url) if c.sandbox is not None else None
    html = render_template("home.html", version=version(), ready=ready, checks=checks,
                           sandbox=links)
    return Response(html, mimetype="text/html")
