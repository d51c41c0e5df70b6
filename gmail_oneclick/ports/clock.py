"""What time it is: a port, so tests can stop or move the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        from gmail_oneclick.domain.model import utcnow

        return utcnow()
