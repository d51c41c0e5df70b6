"""Argument types: a bad value is a usage error (exit 2, naming the option) before any work."""

from __future__ import annotations

import re
from typing import Any

import click

from gmail_oneclick.services.consent import EMAIL

SITE_ID = re.compile(r"^site_[a-z0-9]{1,64}$")


class EmailAddress(click.ParamType[str]):
    """An e-mail address, stripped; what the consent flow accepts as a login hint."""

    name = "email"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if len(text) > 320 or not EMAIL.fullmatch(text):
            self.fail(f"{text!r} is not an e-mail address", param, ctx)
        return text


class SiteId(click.ParamType[str]):
    """A site id as ``sites add`` prints it: ``site_`` and lower-case letters and digits."""

    name = "site_id"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not SITE_ID.fullmatch(text):
            self.fail(f"{text!r} is not a site id (they look like site_abc123…; "
                      "see 'gmail-oneclick sites list')", param, ctx)
        return text


EMAIL_ADDRESS = EmailAddress()
SITE_ID_TYPE = SiteId()
