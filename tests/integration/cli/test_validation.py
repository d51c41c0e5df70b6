"""Every argument is checked before any work: a bad one is a usage error (exit 2)."""

from __future__ import annotations

import pytest

from tests.integration.cli.conftest import invoke


@pytest.mark.parametrize("command", ["export", "forget"])
@pytest.mark.parametrize("email", ["not-an-email", "alice@", "@example.com", "a b@example.com"])
def test_privacy_refuses_an_email_that_is_not_one(command: str, email: str) -> None:
    result = invoke("privacy", command, "--email", email)
    assert result.exit_code == 2
    assert f"Invalid value for '--email': {email!r} is not an e-mail address" in result.stderr


def test_privacy_export_of_an_unknown_email_is_not_an_error() -> None:
    result = invoke("privacy", "export", "--email", "nobody@example.com")
    assert result.exit_code == 0 and '"connections": []' in result.stdout


@pytest.mark.parametrize("args", [["sites", "show", "blog"], ["sites", "remove", "../x"],
                                  ["sites", "rotate-key", "SITE_X"],
                                  ["connections", "list", "--site", "42"]])
def test_a_malformed_site_id_is_refused(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2 and "is not a site id" in result.stderr
