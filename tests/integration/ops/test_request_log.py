"""One log line per request: method, route pattern, status and milliseconds; never the path's
ids or tokens, never the query string."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gmail_oneclick.observability.logs import HumanFormatter, JsonFormatter
from tests.conftest import RegisteredSite


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gmail_oneclick.request"]


def _formatted(record: logging.LogRecord) -> str:
    return JsonFormatter().format(record) + HumanFormatter().format(record)


def test_each_request_logs_one_line_with_its_route_pattern_status_and_time(
    client: Any, site: RegisteredSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/v1/connections/conn_doesnotexist123", headers=site.auth)
    [line] = _request_lines(caplog)
    assert (line.method, line.route, line.status) == (  # type: ignore[attr-defined]
        "GET", "/v1/connections/<connection_id>", response.status_code)
    assert isinstance(line.ms, float) and line.ms >= 0  # type: ignore[attr-defined]
    assert "conn_doesnotexist123" not in _formatted(line)


def test_a_connect_link_request_logs_neither_its_token_nor_its_query(
    client: Any, site: RegisteredSite, caplog: pytest.LogCaptureFixture
) -> None:
    made = client.post("/v1/connections", headers=site.auth,
                       json={"return_url": "https://blog.example.com/wp-admin/"})
    token = made.get_json()["connect_url"].rsplit("/", 1)[1]
    caplog.set_level(logging.INFO)
    caplog.clear()
    client.get(f"/connect/{token}?next=private-query-value")  # an unknown parameter: a 400
    client.get(f"/connect/{token}")
    lines = _request_lines(caplog)
    assert [(r.route, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("/connect/<token>", 400), ("/connect/<token>", 200)]
    logged = "".join(_formatted(r) for r in lines) + caplog.text
    assert token not in logged and "private-query-value" not in logged


def test_a_path_matching_no_route_is_logged_without_the_path(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert client.get("/wp-login.php/some-secret-looking-path").status_code == 404
    [line] = _request_lines(caplog)
    assert (line.route, line.status) == ("-", 404)  # type: ignore[attr-defined]
    assert "some-secret-looking-path" not in _formatted(line)
