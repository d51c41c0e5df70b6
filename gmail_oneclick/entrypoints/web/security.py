"""Security headers on every response, and no caching of anything personal."""

from __future__ import annotations

import functools

from flask import Flask, Response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self' {extra}; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _headers(response: Response) -> Response:
    from gmail_oneclick.entrypoints.web import container

    settings = container().settings
    response.headers.setdefault("Content-Security-Policy", _csp(settings.google_auth_uri))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if settings.secure_cookies:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


@functools.lru_cache(maxsize=8)
def _csp(google_auth_uri: str) -> str:
    """The policy for this Google origin, built once (it is the same on every response)."""
    # Forms POST to ourselves; the consent form's answer is a redirect to Google's origin.
    return CSP.format(extra=_origin(google_auth_uri))


def _origin(url: str) -> str:
    from gmail_oneclick.domain.urls import origin_of

    return origin_of(url) or ""


def init_app(app: Flask) -> None:
    app.after_request(_headers)
