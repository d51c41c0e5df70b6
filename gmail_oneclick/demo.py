"""Sandbox-mode conveniences for `make run`: print where to click."""

from __future__ import annotations

import sys
from typing import Any


def announce(container: Any) -> None:
    url = container.settings.public_url.rstrip("/")
    print(
        f"\n  gmail-oneclick is running in SANDBOX mode (fake Google, development only).\n"
        f"  Google sandbox: {url}/_sandbox/google/\n",
        file=sys.stderr,
        flush=True,
    )
