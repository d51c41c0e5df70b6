"""Refreshes Google sees when many sends arrive at once on an expired access token.

Method: one connection; the sandbox (own process) expires its access tokens
(``expire_access_tokens``); then ``--sends`` client threads, released together by a barrier,
each POST ``/v1/messages`` to the service under gunicorn (default 2 workers x 8 threads, so
the refresh lease is contended across processes, not just threads). Refreshes are counted by
the sandbox's token endpoint. Two cases: an hour of quiet (our cached expiry has passed too, so
the sends refresh before sending) and an early expiry at Google only (Gmail answers 401 to the
cached token, and each send asks for a token other than the one just refused).
"""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from typing import Any

import requests

from bench import common

TARGET_REFRESHES = 1


def storm(url: str, auth: dict[str, str], raw: bytes, sends: int) -> tuple[float, int]:
    """``sends`` simultaneous sends; (seconds until the last answered, sends that succeeded)."""
    body = {"raw": base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    ok: list[bool] = []

    def one(start: threading.Barrier) -> None:
        with requests.Session() as session:
            session.get(url + "/healthz", timeout=30)  # connect before the start
            start.wait()
            response = session.post(url + "/v1/messages", json=body, headers=auth, timeout=120)
            ok.append(response.status_code == 200)

    return common.race(sends, one), sum(ok)


def expire_ours(container: Any, connection_id: str) -> None:
    with container.uow() as uow:
        uow.connections.update(connection_id, access_token_expires_at=container.clock.now()
                               - timedelta(seconds=5))
        uow.commit()


def measure(sends: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"sends": sends}
    with common.world(accounts=1) as w:
        sandbox, values, container = w.sandbox, w.values, w.container
        site = common.add_site(container)
        grant = sandbox.grants(0, 1)[0]
        (connection_id,) = common.store_connections(container, site.id, [grant])
        raw = common.make_message(grant["email"])
        with common.ServiceProcess(values) as service:
            for case, ours_too in (("expired", True), ("expired_at_google_only", False)):
                sandbox.call("expire", grant["email"])
                if ours_too:
                    expire_ours(container, connection_id)
                before = sandbox.counts()["refreshes"]
                seconds, ok = storm(service.url, site.auth, raw, sends)
                figures[f"{case}_refreshes"] = sandbox.counts()["refreshes"] - before
                figures[f"{case}_ok"] = ok
                figures[f"{case}_seconds"] = round(seconds, 3)
        container.engine.dispose()
    return figures


def main() -> None:
    f = measure(common.size(__doc__ or "", "sends", default=100, quick=10))
    n = f["sends"]
    common.table(f"Refresh storm: {n} concurrent sends on an expired access token", [
        ("refreshes, expired (ours and Google's)", f["expired_refreshes"],
         f"target {TARGET_REFRESHES}"),
        ("  sends that succeeded", f["expired_ok"], f"of {n}"),
        ("  seconds until the last answered", f["expired_seconds"], ""),
        ("refreshes, expired at Google only (401)", f["expired_at_google_only_refreshes"],
         f"target {TARGET_REFRESHES}"),
        ("  sends that succeeded", f["expired_at_google_only_ok"], f"of {n}"),
        ("  seconds until the last answered", f["expired_at_google_only_seconds"], ""),
    ])
    common.emit("refresh_storm", {**f, "target_refreshes": TARGET_REFRESHES})


if __name__ == "__main__":
    main()
