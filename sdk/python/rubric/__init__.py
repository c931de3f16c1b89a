"""Rubric Webhooks: ``from rubric import Rubric``.

``Rubric()`` manages webhooks and sends events; ``rubric.webhooks.verify_signature``
verifies what a receiver gets.
"""
from . import webhooks
from ._client import DEFAULT_BASE_URL, Rubric
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RubricError,
    ValidationError,
    WebhookVerificationError,
)
from ._models import (
    Attempt,
    BatchItem,
    BatchResult,
    BodyPreview,
    DeletedWebhook,
    Delivery,
    Event,
    EventType,
    RubricObject,
    TestResult,
    Webhook,
)
from ._pagination import ListResult
from ._version import VERSION as __version__
from .webhooks import verify_signature

__all__ = [
    "Rubric",
    "DEFAULT_BASE_URL",
    "webhooks",
    "verify_signature",
    "ListResult",
    "RubricError",
    "MissingAPIKeyError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "RateLimitError",
    "InternalServerError",
    "WebhookVerificationError",
    "RubricObject",
    "Webhook",
    "Delivery",
    "Attempt",
    "Event",
    "EventType",
    "TestResult",
    "DeletedWebhook",
    "BatchItem",
    "BatchResult",
    "BodyPreview",
    "__version__",
]
