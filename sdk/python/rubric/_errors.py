"""Exceptions raised by the SDK.

Every API failure is an :class:`APIError` carrying the HTTP status, the API's
error ``code``, its ``message``, the field ``details`` of a 422 and the
``request_id`` (from the ``X-Request-Id`` header, else the body), so a support
request can quote it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional


class RubricError(Exception):
    """Base class of every exception this package raises."""


class MissingAPIKeyError(RubricError, ValueError):
    """No API key was passed and ``RUBRIC_API_KEY`` is not set."""


class APIError(RubricError):
    """An API request failed.

    Attributes:
        status: HTTP status, or ``None`` when no response arrived.
        code: the API's machine-readable code (``not_found``, ``validation_failed`` …).
        message: the API's human-readable message.
        request_id: the request's id (``X-Request-Id``), or ``None``.
        details: per-field issues of a 422 (``[{"field", "message"}]``).
        headers: the response headers (lower-case names).
        body: the decoded JSON body, or the raw text when it is not JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        details: Optional[List[Dict[str, Any]]] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details: List[Dict[str, Any]] = list(details or [])
        self.headers: Dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        parts = [str(self.status)] if self.status is not None else []
        if self.code:
            parts.append(self.code)
        prefix = f"[{' '.join(parts)}] " if parts else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.message}{suffix}"


class APIConnectionError(APIError):
    """The request never got an HTTP answer (refused, reset, DNS, TLS …)."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class BadRequestError(APIError):
    """400: the body was not valid JSON, or the request was malformed."""


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, revoked or unknown."""


class PermissionDeniedError(APIError):
    """403: the API key lacks the scope this call needs."""


class NotFoundError(APIError):
    """404: no such object in this account (or no such route)."""


class ConflictError(APIError):
    """409: the object already exists or the call conflicts with its state."""


class ValidationError(APIError):
    """422 (and 413/414/415/431): the request was refused; see ``details``."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds."""

    @property
    def retry_after(self) -> Optional[float]:
        from ._retry import parse_retry_after

        return parse_retry_after(self.headers.get("retry-after"))


class InternalServerError(APIError):
    """5xx: the service failed; idempotent calls were already retried."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    414: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
    431: ValidationError,
}


def error_for_status(status: int) -> type:
    """The exception class for an HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InternalServerError if status >= 500 else APIError


class WebhookVerificationError(RubricError):
    """A received webhook failed verification.

    ``reason`` is one of: ``missing_headers``, ``invalid_timestamp``,
    ``timestamp_too_old``, ``timestamp_too_new``, ``malformed_signature``,
    ``signature_mismatch``, ``invalid_secret``, ``invalid_payload``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
