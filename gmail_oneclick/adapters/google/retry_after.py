"""The ``Retry-After`` header of a Google answer, read the same way by every Google adapter."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_header(value: str | None, now: datetime | None = None) -> int | None:
    """Seconds to wait, at least 1, from ``Retry-After`` given as seconds or as an HTTP-date;
    None when the header is absent or unreadable (the caller picks its own default)."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return max(1, int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(1, int((when - (now or datetime.now(UTC))).total_seconds()))
