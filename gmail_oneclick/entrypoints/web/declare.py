"""What each route accepts and answers, declared beside the route and enforced here.

``@declare(...)`` records on a view its success statuses, the ServiceErrors it may answer, the
query parameters it honours and its JSON fields. The app refuses any other query parameter
(400 ``invalid_request``) and flags an error answer the route does not declare; a test holds the
declarations and the OpenAPI document (each error response's ``x-error-codes``) to each other,
status by status and code by code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, request

from gmail_oneclick.domain.errors import InvalidRequest, ServiceError
from gmail_oneclick.entrypoints.web.body import Fields

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., object])
ATTRIBUTE = "declared_route"


@dataclass(frozen=True)
class Declared:
    ok: tuple[int, ...] = (200,)
    # None: not declared (a browser page's errors are pages, outside the document); not checked.
    errors: tuple[type[ServiceError], ...] | None = None
    # None: the query is written by Google (the OAuth callback), whose extra parameters are
    # Google's to add; see docs/SECURITY.md.
    query: frozenset[str] | None = frozenset()
    body: Fields | None = None
    open_ended: bool = False  # the JSON body may carry fields beyond ``body`` (Post SMTP's)
    other: tuple[int, ...] = ()  # answers that are not errors nor success (readyz's 503)

    def answers(self) -> set[tuple[int, str | None]]:
        """(status, error code or None) pairs this route may answer."""
        found: set[tuple[int, str | None]] = {(s, None) for s in (*self.ok, *self.other)}
        errors: tuple[type[ServiceError], ...] = (*(self.errors or ()), InvalidRequest)
        found |= {(e.status, e.code) for e in errors}
        return found


def declare(*, ok: Iterable[int] = (200,), errors: Iterable[type[ServiceError]] | None = None,
            query: Iterable[str] | None = (), body: Fields | None = None,
            open_ended: bool = False, other: Iterable[int] = ()) -> Callable[[F], F]:
    """Record the route's declaration on the view (put it under ``@bp.get/post``). Every route
    that reads its query declares it; InvalidRequest (a refused query) is always among its
    errors."""
    if errors is not None:
        errors = (InvalidRequest, *(e for e in errors if e is not InvalidRequest))
    declared = Declared(
        ok=tuple(ok), errors=None if errors is None else tuple(errors),
        query=None if query is None else frozenset(query), body=body, open_ended=open_ended,
        other=tuple(other))

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, declared)
        return view

    return mark


def declared(endpoint: str | None) -> Declared | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, ATTRIBUTE, None)


def refuse_unknown_query() -> None:
    """before_request: a query parameter the route does not honour is a 400, never ignored."""
    if request.endpoint is None or not request.args:
        return
    found = declared(request.endpoint)
    allowed = found.query if found is not None else frozenset()
    if allowed is None:
        return
    unknown = sorted(k for k in request.args if k not in allowed)
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s): {', '.join(unknown)[:200]}")


class UndeclaredAnswer(AssertionError):
    """Raised under TESTING so that a test hitting an undocumented answer fails."""


def check_answer(exc: ServiceError) -> None:
    """Flag an error the current route does not declare (it is still answered as it is)."""
    found = declared(request.endpoint)
    if found is None or found.errors is None or isinstance(exc, found.errors):
        return
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    log.error("undeclared answer", extra={"route": route, "code": exc.code,
                                          "status": exc.status})
    if current_app.testing:
        raise UndeclaredAnswer(f"{request.method} {route} answered {exc.status} {exc.code}, "
                               "which its @declare (and so the OpenAPI document) does not list")
