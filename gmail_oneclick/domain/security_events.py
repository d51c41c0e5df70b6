"""Security Event Token types of Cross-Account Protection (RISC), as Google names them.

Shared by the service, which acts on them, and the sandbox, which imitates Google sending them.
"""

from __future__ import annotations

OAUTH_EVENTS = "https://schemas.openid.net/secevent/oauth/event-type/"
RISC_EVENTS = "https://schemas.openid.net/secevent/risc/event-type/"
TOKENS_REVOKED = OAUTH_EVENTS + "tokens-revoked"
TOKEN_REVOKED = OAUTH_EVENTS + "token-revoked"
SESSIONS_REVOKED = RISC_EVENTS + "sessions-revoked"
ACCOUNT_DISABLED = RISC_EVENTS + "account-disabled"
ACCOUNT_ENABLED = RISC_EVENTS + "account-enabled"
CREDENTIAL_CHANGE_REQUIRED = RISC_EVENTS + "account-credential-change-required"
VERIFICATION = RISC_EVENTS + "verification"
EVENT_TYPES = (
    TOKENS_REVOKED, TOKEN_REVOKED, SESSIONS_REVOKED, ACCOUNT_DISABLED, ACCOUNT_ENABLED,
    CREDENTIAL_CHANGE_REQUIRED, VERIFICATION,
)
