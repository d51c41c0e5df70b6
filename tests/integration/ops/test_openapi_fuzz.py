"""schemathesis against the running app: no 5xx, and every answer as the document says.

Loads the document the app serves at /openapi.json and calls the app in-process (WSGI) with a
registered site's bearer key, the site having one Gmail account connected through the real
consent flow (sandbox Google), so the document's examples really send. Examples are bounded so
the whole run stays well under a minute.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gmail_oneclick.sandbox.driver import approve_consent

pytestmark = pytest.mark.slow

# A raw RFC 5322 message goes on the wire as the text it is.
schemathesis.serializer.alias("message/rfc822", "text/plain")

EXAMPLES = 50  # per operation and generation mode
ACCOUNT = "admin@example.com"  # the From address of the document's example messages
RETURN_URL = "https://blog.example.com/wp-admin/options-general.php?page=gmail"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def connect_account(app: Any, site: Any, email: str) -> str:
    """Click through the service's consent flow as the site admin; returns the connection id."""
    client = app.test_client()
    link = client.post("/v1/connections", json={"return_url": RETURN_URL}, headers=site.auth)
    connect_url = link.get_json()["connect_url"]
    page = client.get(path_of(connect_url)).get_data(as_text=True)
    csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
    to_google = client.post(path_of(connect_url), data={"csrf_token": csrf})
    with requests.Session() as google:
        callback = approve_consent(google, to_google.headers["Location"], email)
    back = client.get(path_of(callback))
    assert back.status_code == 303, back.get_data(as_text=True)
    return parse_qs(urlsplit(back.headers["Location"]).query)["connection_id"][0]


def served_operations(app: Any) -> tuple[Any, list[Any]]:
    """The served document and its operations the app routes, DELETE last (it purges)."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    adapter = app.url_map.bind("localhost")
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            adapter.match(operation.path.replace("{id}", "conn_x"), method=operation.method.upper())
        except Exception:  # noqa: BLE001 - route not served yet: test_openapi reports it
            continue
        found.append(operation)
    return schema, sorted(found, key=lambda op: op.method.upper() == "DELETE")


def run(strategy: Any, auth: dict[str, str], examples: int = EXAMPLES) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    call()


def strategies(schema: Any, operation: Any, connection_id: str) -> list[tuple[str, Any, int]]:
    """(label, strategy, examples): the document's examples, an existing connection's id, then
    generated valid and invalid requests."""
    plans = [(f"example {i}", s, 3) for i, s in
             enumerate(schema.get_strategies_from_examples(operation))]
    if "{id}" in operation.path:
        plans.append(("existing id", operation.as_strategy(
            path_parameters={"id": connection_id}), 5))
    plans.append(("positive", operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                  EXAMPLES))
    plans.append(("negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
                  EXAMPLES))
    return plans


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    app: Any, site: Any
) -> None:
    connection_id = connect_account(app, site, ACCOUNT)
    schema, operations = served_operations(app)
    assert operations, "the app serves none of the documented operations"
    failures: list[str] = []
    for operation in operations:
        for label, strategy, examples in strategies(schema, operation, connection_id):
            try:
                run(strategy, site.auth, examples)
            except Unsatisfiable:
                # Only operations without parameters or body: nothing to send wrong.
                assert label == "negative", operation.path
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all
                failures.append(f"{operation.method.upper()} {operation.path} [{label}]: "
                                f"{type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
