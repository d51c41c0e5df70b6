"""The sandbox keeps HTTP/1.1 connections alive, as Google does, without mixing requests up."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from gmail_oneclick.sandbox import SandboxServer, start_sandbox


def _connect(server: SandboxServer) -> http.client.HTTPConnection:
    url = urlsplit(server.url)
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)


def test_one_connection_serves_many_requests(google: SandboxServer) -> None:
    conn = _connect(google)
    try:
        for _ in range(3):
            conn.request("GET", "/oauth2/v3/certs")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") is None
            assert b"keys" in response.read()
            sock = conn.sock
            assert sock is not None  # the client kept the connection: the server allowed it
        assert conn.sock is sock
    finally:
        conn.close()


def test_an_unread_request_body_does_not_leak_into_the_next_request(
        google: SandboxServer) -> None:
    conn = _connect(google)
    try:
        # The certs endpoint never reads a body; this one looks like a request line.
        smuggled = b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        conn.request("GET", "/oauth2/v3/certs", body=smuggled)
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        conn.request("GET", "/oauth2/v3/certs")
        second = conn.getresponse()
        assert second.status == 200
        assert b"keys" in second.read()
    finally:
        conn.close()


def test_a_chunked_request_closes_the_connection(google: SandboxServer) -> None:
    conn = _connect(google)
    try:
        conn.request("POST", "/token", body=iter([b"grant_type=nothing"]),
                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                     encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 400
        assert response.getheader("Connection") == "close"
        response.read()
    finally:
        conn.close()


def test_stopping_the_sandbox_ends_kept_alive_connections() -> None:
    server = start_sandbox()
    conn = _connect(server)
    try:
        conn.request("GET", "/oauth2/v3/certs")
        conn.getresponse().read()
        server.stop()
        conn.request("GET", "/oauth2/v3/certs")
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.getresponse()
    finally:
        conn.close()
