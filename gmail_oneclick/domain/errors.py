"""Stable error codes of the public contract. The code is the meaning; one handler maps to HTTP."""

from __future__ import annotations


class ServiceError(Exception):
    """An error a caller can act on.

    ``code`` is stable; ``message`` is human text with no secrets.
    """

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class Unauthorized(ServiceError):
    code, status = "unauthorized", 401


class Forbidden(ServiceError):
    code, status = "forbidden", 403


class NotFound(ServiceError):
    code, status = "not_found", 404


class InvalidRequest(ServiceError):
    code, status = "invalid_request", 400


class InvalidMessage(ServiceError):
    code, status = "invalid_message", 400


class MessageTooLarge(ServiceError):
    code, status = "message_too_large", 413


class UnsupportedMediaType(ServiceError):
    code, status = "unsupported_media_type", 415


class MethodNotAllowed(ServiceError):
    code, status = "method_not_allowed", 405


class Conflict(ServiceError):
    code, status = "conflict", 409


class ReconnectRequired(ServiceError):
    code, status = "reconnect_required", 409


class ScopeMissing(ServiceError):
    code, status = "scope_missing", 409


class MailServiceNotEnabled(ServiceError):
    """Gmail answered failedPrecondition: the Google account has no Gmail. Permanent."""

    code, status = "mail_service_not_enabled", 409


class PermissionDeniedUpstream(ServiceError):
    """Gmail refused for policy (domainPolicy) reasons the site admin must fix."""

    code, status = "gmail_permission_denied", 403


class RateLimited(ServiceError):
    code, status = "rate_limited", 429


class UpstreamUnavailable(ServiceError):
    code, status = "upstream_unavailable", 503


class Gone(ServiceError):
    code, status = "gone", 410


# ---- sending (issue 4) ------------------------------------------------------------------------


class TooManyRecipients(ServiceError):
    """More To/Cc/Bcc addresses than Gmail accepts in one message."""

    code, status = "too_many_recipients", 400


class ConnectionRequired(ServiceError):
    """No connection_id, and neither the From address nor "the only connection" picks one."""

    code, status = "connection_required", 400


class IdempotencyInProgress(ServiceError):
    """A send with the same Idempotency-Key is running right now; retry after it ends."""

    code, status = "idempotency_in_progress", 409


class DeliveryUnknown(ServiceError):
    """The message went to Gmail and its answer was lost: it may have been sent. Never retried
    by the service; a repeat with the same Idempotency-Key answers this again."""

    code, status = "delivery_unknown", 504


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was already used for a different message."""

    code, status = "idempotency_key_reused", 422


# ---- open registration (issue 11) -------------------------------------------------------------


class SiteUnverified(ServiceError):
    """A self-registered site has not yet proved it controls its origins: it gets no connect
    link and sends nothing until POST /v1/sites/{id}/verify succeeds."""

    code, status = "site_unverified", 403


class SiteVerificationFailed(ServiceError):
    """An origin did not serve the site's verification token (unreachable, not 200, or
    another body)."""

    code, status = "site_verification_failed", 409
