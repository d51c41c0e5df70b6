"""Metrics the services record. observability.metrics implements this over Prometheus; the
services reach the process's recorder through services.telemetry.

Labels take only small fixed vocabularies (outcomes, stable error codes, reasons), never an
id, an email or anything a caller chooses.
"""

from __future__ import annotations

from typing import Literal, Protocol

RefreshResult = Literal["ok", "invalid_grant", "transient", "misconfigured"]


class Metrics(Protocol):
    def observe_send(self, outcome: str, seconds: float) -> None:
        """One send: ``outcome`` is ``sent`` or the stable error code that was answered."""
        ...

    def count_refresh(self, result: RefreshResult) -> None:
        """One refresh attempt at Google's token endpoint."""
        ...

    def count_purge(self, reason: str) -> None:
        """One connection purged; ``reason`` is a RevocationReason value."""
        ...

    def observe_detection_latency(self, seconds: float) -> None:
        """How long a revocation took, from being seen to its purge committed."""
        ...

    def count_webhook_delivery(self, result: str) -> None:
        """One webhook delivery attempt: delivered, retried or failed."""
        ...
