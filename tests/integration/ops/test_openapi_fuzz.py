"""schemathesis against the running app: no 5xx, and every answer as the document says.

Loads the document the app serves at /openapi.json and calls the app in-process (WSGI) with a
registered site's bearer key, the site having one Gmail account connected through the real
consent flow (sandbox Google), so the document's examples really send. Examples are bounded so
the whole run stays well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from ops_flow import connect_account
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

pytestmark = pytest.mark.slow

# A raw RFC 5322 message goes on the wire as the text it is.
schemathesis.serializer.alias("message/rfc822", "text/plain")

EXAMPLES = 50  # per operation and generation mode
ACCOUNT = "admin@example.com"  # the From address of the document's example messages

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


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
