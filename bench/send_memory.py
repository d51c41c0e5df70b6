"""Peak memory of one large send, divided by the message size.

Method: the service runs under gunicorn with one worker (so one process holds the whole send),
the sandbox in its own process. After a small warm-up send, the worker's resting RSS is read
from /proc/<pid>/status (VmRSS); then one ``--mb`` MB message is sent and the worker's RSS
high-water mark (VmHWM) is read. Peak extra memory = VmHWM after - VmRSS before; the figure is
that over the message size. Both request formats are measured, each in a fresh worker:
``message/rfc822`` (the body is the message) and JSON ``{"raw": base64url}`` (a third larger,
its base64 decoded as it streams in). Above 8 MB the service streams the message to Gmail's
resumable upload.
"""

from __future__ import annotations

import base64
from typing import Any

import requests

from bench import common

MB = 1024 * 1024


def one_send(values: dict[str, Any], site: common.BenchSite, raw: bytes, small: bytes,
             kind: str) -> dict[str, Any]:
    with common.ServiceProcess(values, workers=1) as service, requests.Session() as session:
        def post(message: bytes) -> requests.Response:
            if kind == "rfc822":
                return session.post(service.url + "/v1/messages", data=message, timeout=300,
                                    headers={**site.auth, "Content-Type": "message/rfc822"})
            body = {"raw": base64.urlsafe_b64encode(message).decode().rstrip("=")}
            return session.post(service.url + "/v1/messages", json=body, headers=site.auth,
                                timeout=300)

        post(small).raise_for_status()
        resting = service.worker_kib("VmRSS")
        response = post(raw)
        peak = service.worker_kib("VmHWM")
    extra = (peak - resting) * 1024
    return {f"{kind}_status": response.status_code, f"{kind}_resting_mb": round(resting / 1024, 1),
            f"{kind}_peak_extra_mb": round(extra / MB, 1),
            f"{kind}_peak_over_size": round(extra / len(raw), 2)}


def measure(mb: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"message_mb": mb}
    with common.world(accounts=1) as w:
        sandbox, values, container = w.sandbox, w.values, w.container
        site = common.add_site(container)
        grant = sandbox.grants(0, 1)[0]
        common.store_connections(container, site.id, [grant])
        container.engine.dispose()
        raw = common.make_message(grant["email"], size=mb * MB)
        small = common.make_message(grant["email"])
        for kind in ("rfc822", "json"):
            figures.update(one_send(values, site, raw, small, kind))
            figures[f"{kind}_arrived_bytes"] = sandbox.counts()["last_sent_size"]
            sandbox.call("forget_sent")
    figures["message_bytes"] = len(raw)
    return figures


def main() -> None:
    # --quick's 9 MB is still above the resumable threshold.
    f = measure(common.size(__doc__ or "", "mb", default=30, quick=9))
    rows = []
    for kind, label in (("rfc822", "message/rfc822 body"), ("json", "JSON raw (base64url)")):
        ok = f[f"{kind}_status"] == 200 and f[f"{kind}_arrived_bytes"] == f["message_bytes"]
        rows += [(f"{label}: peak extra / size", f[f"{kind}_peak_over_size"],
                  f"{f[f'{kind}_peak_extra_mb']} MB over a resting "
                  f"{f[f'{kind}_resting_mb']} MB worker"),
                 (f"  {label}: delivered", "yes" if ok else "NO", f"HTTP {f[f'{kind}_status']}")]
    common.table(f"Memory of one {f['message_mb']} MB send (gunicorn worker VmHWM)", rows)
    common.emit("send_memory", f)


if __name__ == "__main__":
    main()
