"""A self-registered site proves it controls its origins before it may ask anyone for Gmail.

Without this, anyone could register "Your Bank" with your bank's origin and send people our
consent page in its name. The site serves the verification token it got at registration as the
whole body of ``<origin>/.well-known/gmail-oneclick/<site_id>`` on every origin it registered;
the service fetches each (no redirects, bounded size and time, the address policy of webhooks)
and compares it with the stored hash in constant time.
"""

from __future__ import annotations

from gmail_oneclick.domain.errors import SiteVerificationFailed
from gmail_oneclick.domain.ids import same_secret, secret_hash
from gmail_oneclick.domain.model import Site
from gmail_oneclick.ports import Answer, Clock, OriginFetcher, UowFactory
from gmail_oneclick.services.registration import spend
from gmail_oneclick.services.sites import verification_urls

# Each attempt makes the service fetch from the site's origins: a few an hour is plenty.
ATTEMPTS_PER_HOUR = 10
MAX_TOKEN_BYTES = 1024


def _problem(url: str, answer: Answer, token_hash: str) -> str | None:
    """Why ``answer`` does not prove the site controls ``url``'s origin, or None when it does."""
    if answer.status == 0:
        return (f"{url} could not be fetched (unreachable, too slow, or not a public "
                "address)")
    if answer.status != 200:
        return f"{url} answered HTTP {answer.status}, not 200 (redirects are not followed)"
    # Whitespace around the token is forgiven (an editor's newline), a larger body is not.
    if len(answer.body) > MAX_TOKEN_BYTES or not same_secret(
            secret_hash(answer.body.strip().decode("utf-8", "replace")), token_hash):
        return f"{url} did not serve this site's verification token as its whole body"
    return None


def verify_site(
    uow_factory: UowFactory, clock: Clock, fetcher: OriginFetcher, site: Site,
) -> Site:
    """Verify ``site`` (a no-op when it already is). Returns the verified site.

    Raises RateLimited past ATTEMPTS_PER_HOUR, SiteVerificationFailed naming the first origin
    that did not serve the token. No transaction is held while fetching.
    """
    if site.verified_at is not None:
        return site
    with uow_factory() as uow:
        token_hash = uow.sites.verification_token_hash(site.id)
        spend(uow, clock.now(), [(f"verify:{site.id}", ATTEMPTS_PER_HOUR)],
              "too many verification attempts for this site; try again later")
    for url in verification_urls(site):
        problem = _problem(url, fetcher.fetch(url), token_hash or "")
        if problem:
            raise SiteVerificationFailed(problem)
    with uow_factory() as uow:
        now = clock.now()
        if uow.sites.mark_verified(site.id, now):
            uow.audit.record("site:verified", now, site_id=site.id)
        uow.commit()
        return uow.sites.get(site.id) or site
