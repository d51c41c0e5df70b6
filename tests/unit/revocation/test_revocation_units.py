"""Pure pieces of the revocation lifecycle: schedules, backoff, outcome mapping, key fetching."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gmail_oneclick.adapters.google.risc import JwksCache, RiscVerifier
from gmail_oneclick.ports import InvalidSecurityEvent
from gmail_oneclick.services import revocation, webhooks
from gmail_oneclick.settings import Settings


def test_backoff_grows_is_capped_and_jittered() -> None:
    assert webhooks.retry_delay(1, rng=lambda: 1.0) < webhooks.retry_delay(5, rng=lambda: 1.0)
    assert webhooks.retry_delay(50, rng=lambda: 1.0) == timedelta(
        seconds=webhooks.MAX_RETRY_SECONDS)
    assert webhooks.retry_delay(5, rng=lambda: 0.0) == timedelta(seconds=1)


@pytest.mark.parametrize("draw", [0.0, 0.5, 1.0])
def test_next_check_is_never_later_than_the_interval(draw: float) -> None:
    delay = revocation.next_check_after(3600, rng=lambda: draw)
    assert timedelta(seconds=2880) <= delay <= timedelta(seconds=3600)


def test_google_retry_after_is_honoured_for_a_postponed_check() -> None:
    delay = revocation.retry_after(revocation.CHECK_TRANSIENT, 7200, rng=lambda: 0.0)
    assert delay == timedelta(seconds=7200)


def test_only_a_revoked_refresh_counts_as_revoked() -> None:
    """services.tokens' RefreshOutcome statuses: only ``revoked`` means the grant is dead."""
    revoked = {s for s, c in revocation._OUTCOMES.items() if c == revocation.CHECK_REVOKED}
    assert revoked == {"revoked"}
    assert set(revocation._OUTCOMES) == {"refreshed", "revoked", "transient", "misconfigured",
                                         "busy", "not_connected"}


class CountingCache(JwksCache):
    def __init__(self, keys: dict[str, Any], clock: list[float]) -> None:
        super().__init__("http://127.0.0.1:9/certs", timeout=1.0, refetch_interval=60.0,
                         lifespan=3600.0, monotonic=lambda: clock[0])
        self.served = keys

    def _fetch(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        self._keys = dict(self.served)
        self._keys_at = now


def test_unknown_kids_refetch_the_key_set_at_most_once_a_minute() -> None:
    clock = [0.0]
    cache = CountingCache({"k1": object()}, clock)
    assert cache.key("k1") is cache.served["k1"]
    for i in range(10):
        with pytest.raises(InvalidSecurityEvent):
            cache.key(f"forged-{i}")
    assert cache.fetches == 1  # no lookup within the minute fetched again
    cache.served["k2"] = object()
    with pytest.raises(InvalidSecurityEvent):
        cache.key("k2")
    clock[0] = 61.0
    assert cache.key("k2") is cache.served["k2"]  # a rotation is picked up once allowed
    assert cache.fetches == 2


def test_cached_keys_expire_after_their_lifespan() -> None:
    clock = [0.0]
    cache = CountingCache({"k1": object()}, clock)
    assert cache.key("k1") is cache.served["k1"]
    del cache.served["k1"]  # the issuer withdrew it
    clock[0] = 3599.0
    assert cache.key("k1") is not None and cache.fetches == 1
    clock[0] = 3600.0
    with pytest.raises(InvalidSecurityEvent):
        cache.key("k1")
    assert cache.fetches == 2


@pytest.mark.parametrize("token", [b"", b"not.a.jwt", b"\xff\xfe", b"a" * 70000])
def test_malformed_tokens_are_invalid(token: bytes) -> None:
    verifier = RiscVerifier(Settings(google_client_id="client"),
                            jwks=CountingCache({}, [0.0]))
    with pytest.raises(InvalidSecurityEvent):
        verifier.verify(token)
