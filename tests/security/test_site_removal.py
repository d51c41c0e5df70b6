"""Removing a site leaves no secret of it behind, not even a pending consent's PKCE verifier."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gmail_oneclick.services.sites import remove_site
from tests.conftest import RegisteredSite
from tests.integration.consent.conftest import Browser
from token_store.sql import data_keys, secrets_table


def test_removing_a_site_purges_its_pending_consents_verifiers(
    app: Any, site: RegisteredSite, container: Any
) -> None:
    browser = Browser(app.test_client())
    browser.to_google(browser.new_link(site, return_url="https://blog.example.com/wp-admin/"))
    with container.uow() as uow:
        remove_site(uow, container.clock, site.id)
    with container.engine.connect() as conn:
        owners = {r.owner for r in conn.execute(select(secrets_table.c.owner))}
        owners |= {r.owner for r in conn.execute(select(data_keys.c.owner))}
    assert owners == set()
