"""Fixtures for the Google sandbox's own tests: a fresh sandbox on loopback per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gmail_oneclick.sandbox import SandboxServer, start_sandbox


@pytest.fixture
def google() -> Iterator[SandboxServer]:
    with start_sandbox() as server:
        yield server
