"""A real headless Chromium (Debian's, never a downloaded build) for every browser test, one
per test session, and a tab helper that keeps a numbered screenshot per step in
test-output/screenshots/<test>-<step>.png (CI keeps test-output/ as an artifact). The fixtures
are registered once, in tests/conftest.py, so the consent pages' and the WordPress plugin's
browser tests share one browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
PHONE_WIDTH = 390  # every page must fit it without scrolling sideways
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
# Chromium logs the main document's own 4xx status as a console error; a test that expects an
# error page says which status it expects, and only that line is forgiven. So is the
# /favicon.ico that Chromium asks every origin for on its own: no page asked for it.
FAILED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                    "(scripts/system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()



@dataclass
class Tab:
    """One browser page with what its console said, and a numbered screenshot per step."""

    page: Any
    test_name: str
    console_errors: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def shot(self, step: str, page: Any = None) -> Path:
        """A full-page screenshot of this tab (or another ``page`` of the same test)."""
        path = SCREENSHOTS / f"{self.test_name}-{len(self.shots) + 1:02d}-{step}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def unexpected_console_errors(self, *expected_statuses: int) -> list[str]:
        """Console errors and CSP violations, less the page's own expected error status."""
        def forgiven(text: str) -> bool:
            match = FAILED_STATUS.search(text)
            if match is None:
                return False
            return text.endswith("/favicon.ico") or int(match.group(1)) in expected_statuses

        return [e for e in self.console_errors if not forgiven(e)]


def _new_tab(chromium: Any, request: pytest.FixtureRequest, **context: Any) -> Iterator[Tab]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name.removeprefix("test_"))
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()  # a rerun's pictures replace, not mix with, the last run's
    browser_context = chromium.new_context(**context)
    browser_context.set_default_timeout(10_000)  # a busy 2-core CI machine
    page = browser_context.new_page()
    tab = Tab(page, name)

    def on_console(message: Any) -> None:  # CSP violations are reported here too
        if message.type == "error":
            tab.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    try:
        yield tab
    finally:
        browser_context.close()


@pytest.fixture
def tab(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser profile (own cookies) with a desktop-sized window."""
    yield from _new_tab(chromium, request, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh browser profile the width of a common phone (390 px), touch and all."""
    yield from _new_tab(
        chromium, request, viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2,
        is_mobile=True, has_touch=True,
    )
