"""The cookies of the HTML pages (connect flow, sandbox demo) and their double-submit CSRF check.

Every cookie is HttpOnly and SameSite=Lax, Secure when PUBLIC_URL is https. A cookie whose value
does not look like one of our random secrets is treated as absent.
"""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from gmail_oneclick.domain.ids import new_secret, same_secret
from gmail_oneclick.entrypoints.web import container
from gmail_oneclick.services.consent import looks_like_secret

CSRF_FIELD = "csrf_token"


def set_cookie(response: Response, name: str, value: str, *, path: str,
               max_age: int | None = None) -> None:
    """Set ``name`` on ``response``; without ``max_age`` it lasts the browser session."""
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="Lax",
        secure=container().settings.secure_cookies,
    )


def read_cookie(name: str) -> str | None:
    """The request's cookie ``name`` when it looks like a secret we issued, else None."""
    value = request.cookies.get(name)
    return value if looks_like_secret(value) else None


def csrf_token(cookie: str) -> str:
    """The CSRF token to put in a form: the browser's current one (so two tabs both stay
    valid), or a new one."""
    return read_cookie(cookie) or new_secret()


def csrf_matches(cookie: str) -> bool:
    """True when the posted form's CSRF field equals the CSRF cookie (constant time)."""
    value = read_cookie(cookie)
    return value is not None and same_secret(value, request.form.get(CSRF_FIELD, ""))
