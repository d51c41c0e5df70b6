"""Open registration (GMAIL_ONECLICK_REGISTRATION=open): sites register themselves, rate limited.

Every attempt counts, successful or not, per client address and in total, so the endpoint can
be neither brute-forced nor used to fill the database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from gmail_oneclick.errors import Forbidden, RateLimited
from gmail_oneclick.ports import Clock
from gmail_oneclick.services.sites import NewSite, add_site

if TYPE_CHECKING:
    from gmail_oneclick.storage import UnitOfWork

WINDOW = timedelta(hours=1)
# All clients together may register this many times the per-client allowance per window.
GLOBAL_FACTOR = 20


def register_site(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    *,
    registration: str,
    per_hour: int,
    client: str,
    name: str,
    origins: list[str],
    webhook_url: str | None,
) -> NewSite:
    """Register a site through the open API. Raises Forbidden when registration is closed,
    RateLimited (with retry_after) past the allowance, InvalidRequest for bad fields."""
    if registration != "open":
        raise Forbidden("site registration is closed; the operator adds sites with "
                        "'gmail-oneclick sites add'")
    now = clock.now()
    with uow_factory() as uow:
        count, ends = uow.rate_limits.hit(f"register:{client}", now, WINDOW)
        total, total_ends = uow.rate_limits.hit("register:*", now, WINDOW)
        uow.commit()
    for used, limit, until in ((count, per_hour, ends),
                               (total, per_hour * GLOBAL_FACTOR, total_ends)):
        if used > limit:
            wait = max(1, math.ceil((until - now).total_seconds()))
            raise RateLimited("too many site registrations; try again later", retry_after=wait)
    with uow_factory() as uow:
        return add_site(uow, clock, name=name, origins=origins, webhook_url=webhook_url)
