"""One place where errors become HTTP: JSON for API callers, a page for browsers.

Never a stack trace, never a secret. Unexpected exceptions are logged with their type only
and answered 500 ``internal_error``.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from gmail_oneclick.domain.errors import ServiceError
from gmail_oneclick.entrypoints.web.declare import check_answer

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "message_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def wants_json() -> bool:
    path = request.path
    return path.startswith(("/v1", "/wp-json", "/risc", "/healthz", "/readyz", "/metrics",
                            "/openapi.json"))


def json_error(code: str, message: str, status: int, retry_after: int | None = None) -> Response:
    if request.path.startswith("/wp-json/"):
        # Post SMTP's relay answers {"error": true, "message", "code"}.
        body = {"error": True, "message": message, "code": code}
    else:
        body = {"error": {"code": code, "message": message}}
    response = jsonify(body)
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    return response


def page_error(title: str, message: str, status: int) -> Response:
    html = render_template("error.html", title=title, message=message, status=status)
    return Response(html, status=status, mimetype="text/html")


def _service_error(exc: ServiceError) -> Response:
    check_answer(exc)
    if wants_json():
        return json_error(exc.code, exc.message, exc.status, exc.retry_after)
    return page_error("Something went wrong", exc.message, exc.status)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    message = exc.description or exc.name
    if wants_json():
        response = json_error(code, message, status)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response
    return page_error(exc.name, message, status)


def _unexpected(exc: Exception) -> Response:
    # The route's pattern, not the path: paths carry secrets (/connect/<token>).
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    log.error("unhandled error", extra={"exc_type": type(exc).__name__, "route": route})
    if wants_json():
        return json_error("internal_error", "an unexpected error occurred", 500)
    return page_error("Something went wrong", "An unexpected error occurred. Try again.", 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
