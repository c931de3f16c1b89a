"""API objects with attribute access (``webhook.id``, ``delivery.success``).

Each object keeps the JSON it came from; fields the SDK does not declare yet
are still reachable as attributes, by ``obj["field"]`` and in ``to_dict()``.
The annotations below exist for type checkers and editors.
"""
from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterator, List, Mapping, Optional, Type, TypeVar

T = TypeVar("T", bound="RubricObject")


class RubricObject:
    """A JSON object from the API, readable as attributes and as a mapping."""

    #: Fields holding nested objects (or lists of them), converted on access.
    _nested: ClassVar[Dict[str, Type["RubricObject"]]] = {}

    def __init__(self, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(data))

    @classmethod
    def from_json(cls: Type[T], data: Mapping[str, Any]) -> T:
        """Wraps one decoded JSON object."""
        return cls(data)

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name not in data:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        value = data[name]
        kind = type(self)._nested.get(name)
        if kind is not None and isinstance(value, list):
            return [kind(v) if isinstance(v, Mapping) else v for v in value]
        if kind is not None and isinstance(value, Mapping):
            return kind(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        """The raw field value, or ``default``."""
        return self._data.get(key, default)

    def to_dict(self) -> Dict[str, Any]:
        """A copy of the JSON this object was made from."""
        return dict(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RubricObject):
            return self._data == other._data
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._data.items() if k != "secret")
        return f"{type(self).__name__}({shown})"

    _data: Dict[str, Any]


class Webhook(RubricObject):
    """A webhook endpoint. ``secret`` is present only in the answers of create and rotate_secret."""

    id: str
    name: str
    url: str
    #: ``http`` (signed POSTs to ``url``) or ``listen`` (delivered to a ``rubric listen`` CLI, which forwards to ``url``).
    transport: str
    events: List[str]
    filters: Optional[Dict[str, Any]]
    retry_config: Optional[Dict[str, Any]]
    ordering: str
    max_in_flight: int
    rate_limit_per_second: Optional[int]
    timeout_ms: int
    format: str
    templates: Optional[Dict[str, Any]]
    headers: Optional[Dict[str, str]]
    status: str
    disabled_reason: Optional[str]
    description: Optional[str]
    metadata: Optional[Dict[str, Any]]
    created_at: str
    updated_at: str
    secret: str


class Attempt(RubricObject):
    """One attempt of a delivery: request headers, response and timing."""

    id: str
    attempt: int
    trigger: str
    started_at: str
    duration_ms: int
    request_headers: Optional[Dict[str, str]]
    response_code: Optional[int]
    response_headers: Optional[Dict[str, str]]
    response_body: Optional[str]
    error: Optional[str]
    next_attempt_at: Optional[str]
    #: The W3C ``traceparent`` this attempt sent (the event's trace id, a span id of its own).
    traceparent: Optional[str]


class Delivery(RubricObject):
    """One event to one webhook, as of its latest attempt (``attempt_log`` only from ``deliveries.get``)."""

    _nested = {"attempt_log": Attempt}

    id: str
    event_id: str
    webhook_id: str
    event_type: str
    status: str
    success: bool
    attempts: int
    response_code: Optional[int]
    last_error: Optional[str]
    next_attempt_at: Optional[str]
    created_at: str
    completed_at: Optional[str]
    attempt_log: List[Attempt]


class Event(RubricObject):
    """An event (``deliveries`` only from ``events.get``)."""

    _nested = {"deliveries": Delivery}

    id: str
    type: str
    created_at: str
    data: Dict[str, Any]
    metadata: Dict[str, Any]
    project_id: Optional[str]
    severity: Optional[str]
    status: str
    #: The W3C ``traceparent`` its deliveries continue; ``tracestate`` the producer's, if any.
    traceparent: str
    tracestate: Optional[str]
    deliveries: List[Delivery]


class TestResult(RubricObject):
    """What the endpoint answered to ``webhooks.test``."""

    __test__ = False  # not a unittest/pytest test class despite the name

    status: str
    response_code: Optional[int]
    response_body: Optional[str]
    duration_ms: int
    error: Optional[str]
    delivery_id: str
    event_id: str


class DeletedWebhook(RubricObject):
    """The answer of ``webhooks.delete``."""

    id: str
    deleted: bool
    cancelled_deliveries: int


class RetryFailedResult(RubricObject):
    """The answer of ``webhooks.retry_failed``: how many were queued, and whether to call again."""

    queued: int
    has_more: bool


class RotatedSecret(RubricObject):
    """The answer of ``webhooks.rotate_secret``."""

    id: str
    secret: str
    previous_secret_expires_at: Optional[str]


class WebhookStats(RubricObject):
    """Counts, success rate and latency of a webhook over a window."""

    window: str
    deliveries: Dict[str, int]
    attempts: int
    success_rate: Optional[float]
    latency_ms: Dict[str, Optional[float]]
    last_success_at: Optional[str]
    last_failure_at: Optional[str]


class BodyPreview(RubricObject):
    """The exact body a webhook would be sent, and where its template came from."""

    format: str
    body: Any
    source: str
    template_key: Optional[str]


class FilterTestResult(RubricObject):
    """Whether an event would reach a webhook, and which filter decided."""

    matches: bool
    reasons: List[Dict[str, Any]]


class BatchItem(RubricObject):
    """One item of ``events.send_batch``: ``accepted`` or ``duplicate`` (same idempotency key)."""

    index: int
    id: str
    status: str


class BatchResult(RubricObject):
    """The answer of ``events.send_batch``; iterating it yields its items in order."""

    _nested = {"data": BatchItem}

    data: List[BatchItem]

    def __iter__(self) -> Iterator[BatchItem]:  # type: ignore[override]
        return iter(self.data)

    def __len__(self) -> int:
        return len(self._data.get("data", []))


class Replay(RubricObject):
    """One webhook an event was queued to again by ``events.replay``."""

    webhook_id: str
    delivery_id: str


class ReplayResult(RubricObject):
    """The answer of ``events.replay``."""

    _nested = {"data": Replay}

    data: List[Replay]


class DeliveryRetry(RubricObject):
    """The answer of ``deliveries.retry``."""

    delivery_id: str
    queued: bool


class EventType(RubricObject):
    """A built-in, operational or custom event type."""

    name: str
    description: str
    builtin: bool
    operational: bool
    schema: Optional[Dict[str, Any]]
    created_at: Optional[str]
