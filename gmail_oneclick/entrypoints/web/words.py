"""What the pages say for each result, reason and error code: one place for these sentences.

A code is the meaning; a person reads a sentence and the next step, never a code alone. The
consent pages and the sandbox demo both take their words from here (the WordPress plugin says
the same in its own language files).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Said:
    """One sentence about what happened, and what to do next."""

    sentence: str
    next_step: str


CONNECT_AGAIN = "Click “Connect Gmail” again"

# The `reason` of a `gmail_oneclick=error` return from the connect flow.
CONNECT_ERRORS: dict[str, Said] = {
    "access_denied": Said(
        "Nothing was connected because the Google consent screen was cancelled.",
        f"{CONNECT_AGAIN} and choose Allow.",
    ),
    "scope_missing": Said(
        "Nothing was connected because Google was not allowed to send email for that account "
        "(the “Send email on your behalf” box was unticked).",
        f"{CONNECT_AGAIN} and leave every box ticked.",
    ),
    "expired": Said(
        "Nothing was connected because the connect link expired before consent was finished.",
        f"{CONNECT_AGAIN} and finish within a few minutes.",
    ),
    "upstream_error": Said(
        "Nothing was connected because Google could not be reached, or could not confirm the "
        "account's email address, to finish connecting.",
        "Wait a minute, then click “Connect Gmail” again.",
    ),
}
UNKNOWN_CONNECT_ERROR = Said(
    "Nothing was connected: the service reported a problem it did not explain.",
    f"{CONNECT_AGAIN}; if it keeps failing, ask whoever runs this service.",
)

# The consent callback's own page when Google has no verified address for the account.
UNVERIFIED = Said(
    "Google could not confirm the email address of this account, so Gmail was not connected.",
    "Verify the address with Google, or use another account.",
)

# Why a connection's access ended (its `revocation_reason`), as a phrase.
REVOCATION_REASONS: dict[str, str] = {
    "invalid_grant": "Google no longer accepts the permission: it was removed, expired or the "
                     "password changed",
    "risc_tokens_revoked": "the account owner removed this site's access in their Google Account",
    "risc_token_revoked": "Google revoked this site's access",
    "risc_account_disabled": "Google disabled the account",
    "disconnected": "the connection was disconnected from this site",
    "forgotten": "the account's data was deleted at its owner's request",
}
UNKNOWN_REVOCATION = "Google did not say why"

# Why a send failed, by the API's stable error code.
SEND_ERRORS: dict[str, Said] = {
    "reconnect_required": Said(
        "The test email was not sent: Gmail access was removed for this account.",
        f"{CONNECT_AGAIN} to reconnect it.",
    ),
    "scope_missing": Said(
        "The test email was not sent: Gmail did not allow this account to send for this site.",
        f"{CONNECT_AGAIN} and leave every permission box ticked.",
    ),
    "rate_limited": Said(
        "The test email was not sent: Gmail is limiting how much this account may send.",
        "Try again later.",
    ),
    "upstream_unavailable": Said(
        "The test email was not sent: Gmail is unavailable right now.",
        "Try again in a few minutes.",
    ),
    "delivery_unknown": Said(
        "The test email may have been sent: the answer from Gmail was lost on the way.",
        "Look in the account's Sent mail before sending it again.",
    ),
    "mail_service_not_enabled": Said(
        "The test email was not sent: this Google account has no Gmail.",
        "Connect an account that uses Gmail.",
    ),
    "gmail_permission_denied": Said(
        "The test email was not sent: a Google Workspace policy does not let this account send "
        "through the Gmail API.",
        "Ask your Workspace administrator, or connect another account.",
    ),
    "not_found": Said(
        "That connection no longer exists.",
        "Reload this page to see the current connections.",
    ),
}
UNKNOWN_SEND_ERROR = Said(
    "The test email was not sent: the service refused it.",
    "Try again; if it keeps failing, ask whoever runs this service.",
)


def connect_error(reason: str) -> Said:
    """The words for a connect flow's ``reason`` (an unknown one gets a general sentence)."""
    return CONNECT_ERRORS.get(reason, UNKNOWN_CONNECT_ERROR)


def revocation_reason(reason: str | None) -> str:
    return REVOCATION_REASONS.get(reason or "", UNKNOWN_REVOCATION)


def send_error(code: str) -> Said:
    return SEND_ERRORS.get(code, UNKNOWN_SEND_ERROR)


# -- a connection, and the demo's own results ---------------------------------------------------
def connection_status(status: str, email: str | None, reason: str | None) -> str:
    """A connection's state in words: "Connected as …" or why access ended."""
    who = email or "an account whose address was deleted"
    if status == "connected":
        return f"Connected as {who}"
    if reason == "disconnected":
        return f"Disconnected: {who} — connect again to send"
    return f"Access removed at Google for {who} — reconnect"


def connected(email: str) -> Said:
    return Said(f"Connected as {email}: this site can now send email through that Gmail account.",
                "Send a test email to check it.")


def test_sent(email: str, gmail_id: str) -> Said:
    return Said(f"A test email was sent from {email} to itself; Gmail gave it the id {gmail_id}.",
                "Find it in that account's Sent mail.")


def disconnected(email: str) -> Said:
    return Said(f"{email} was disconnected: its Google tokens are deleted and this site can no "
                "longer send through it.",
                "Click “Connect Gmail” to connect an account again.")
