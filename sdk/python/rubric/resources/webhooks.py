"""``client.webhooks``: the seed's webhook calls and the service's tools."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .._models import (
    BodyPreview,
    DeletedWebhook,
    Delivery,
    FilterTestResult,
    RetryFailedResult,
    RotatedSecret,
    TestResult,
    Webhook,
    WebhookStats,
)
from .._pagination import ListResult
from ._base import NOT_GIVEN, Resource, TimeArg, compact, given, iso_time, segment


class Webhooks(Resource):
    """Create, read, change and remove webhook endpoints; test them; read their deliveries."""

    def create(
        self,
        *,
        name: str,
        url: str,
        events: List[str],
        transport: Optional[str] = None,
        secret: Optional[str] = None,
        filters: Optional[Mapping[str, Any]] = None,
        retry_config: Optional[Mapping[str, Any]] = None,
        format: Optional[str] = None,
        templates: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        ordering: Optional[str] = None,
        max_in_flight: Optional[int] = None,
        rate_limit_per_second: Optional[int] = None,
        timeout_ms: Optional[int] = None,
        description: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Webhook:
        """Registers an endpoint; the result's ``secret`` is the signing secret (shown only here).

        Not retried automatically: a second attempt could create a second webhook.
        """
        body = compact(
            name=name,
            url=url,
            events=list(events),
            transport=transport,
            secret=secret,
            filters=filters,
            retry_config=retry_config,
            format=format,
            templates=templates,
            headers=headers,
            ordering=ordering,
            max_in_flight=max_in_flight,
            rate_limit_per_second=rate_limit_per_second,
            timeout_ms=timeout_ms,
            description=description,
            metadata=metadata,
        )
        return Webhook(self._transport.request("POST", "/v1/webhooks", body=body).body)

    def get(self, webhook_id: str) -> Webhook:
        """One webhook (without its secret)."""
        return Webhook(self._transport.request("GET", f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}").body)

    def list(
        self, *, transport: Optional[str] = None, limit: Optional[int] = None, page_size: Optional[int] = None
    ) -> ListResult[Webhook]:
        """Every webhook, oldest first (up to ``limit``), fetched page by page as iterated;
        ``transport="listen"`` lists only ``rubric listen`` webhooks (``"http"`` only the others)."""
        query = compact(transport=transport)
        return ListResult(self._transport, "/v1/webhooks", Webhook, query=query, limit=limit, page_size=page_size)

    def update(
        self,
        webhook_id: str,
        *,
        name: str = NOT_GIVEN,
        url: str = NOT_GIVEN,
        events: List[str] = NOT_GIVEN,
        filters: Optional[Mapping[str, Any]] = NOT_GIVEN,
        retry_config: Optional[Mapping[str, Any]] = NOT_GIVEN,
        format: str = NOT_GIVEN,
        templates: Optional[Mapping[str, Any]] = NOT_GIVEN,
        headers: Optional[Mapping[str, str]] = NOT_GIVEN,
        ordering: str = NOT_GIVEN,
        max_in_flight: int = NOT_GIVEN,
        rate_limit_per_second: Optional[int] = NOT_GIVEN,
        timeout_ms: int = NOT_GIVEN,
        description: Optional[str] = NOT_GIVEN,
        metadata: Optional[Mapping[str, Any]] = NOT_GIVEN,
    ) -> Webhook:
        """Changes the fields passed; passing ``None`` clears an optional field. Applies from the next attempt."""
        body = given(
            name=name,
            url=url,
            events=events,
            filters=filters,
            retry_config=retry_config,
            format=format,
            templates=templates,
            headers=headers,
            ordering=ordering,
            max_in_flight=max_in_flight,
            rate_limit_per_second=rate_limit_per_second,
            timeout_ms=timeout_ms,
            description=description,
            metadata=metadata,
        )
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}"
        return Webhook(self._transport.request("PATCH", path, body=body).body)

    def delete(self, webhook_id: str) -> DeletedWebhook:
        """Deletes the webhook; deliveries still waiting are cancelled."""
        return DeletedWebhook(self._transport.request("DELETE", f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}").body)

    def disable(self, webhook_id: str, *, reason: Optional[str] = None) -> Webhook:
        """Stops routing new events to the webhook; what it already holds waits until ``enable``."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/disable"
        return Webhook(self._transport.request("POST", path, body=compact(reason=reason)).body)

    def enable(self, webhook_id: str) -> Webhook:
        """Routes events to the webhook again and sends what it held, in order."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/enable"
        return Webhook(self._transport.request("POST", path, body={}).body)

    def test(self, webhook_id: str, *, event_type: str, payload: Optional[Mapping[str, Any]] = None) -> TestResult:
        """Sends a real test event now (even to a disabled webhook) and returns what the endpoint answered."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/test"
        body = {"event_type": event_type, "payload": dict(payload or {})}
        return TestResult(self._transport.request("POST", path, body=body).body)

    def deliveries(
        self,
        webhook_id: str,
        *,
        limit: Optional[int] = None,
        status: Optional[str] = None,
        event_type: Optional[str] = None,
        since: Optional[TimeArg] = None,
        until: Optional[TimeArg] = None,
        page_size: Optional[int] = None,
    ) -> ListResult[Delivery]:
        """The webhook's deliveries in event order (up to ``limit``), optionally filtered."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/deliveries"
        query = {"status": status, "event_type": event_type, "since": iso_time(since), "until": iso_time(until)}
        return ListResult(self._transport, path, Delivery, query=query, limit=limit, page_size=page_size)

    def retry_failed(self, webhook_id: str, *, since: TimeArg, until: Optional[TimeArg] = None) -> RetryFailedResult:
        """Re-sends every failed delivery of events made in ``[since, until)``, in order."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/retry_failed"
        body = compact(since=iso_time(since), until=iso_time(until))
        return RetryFailedResult(self._transport.request("POST", path, body=body).body)

    def rotate_secret(
        self, webhook_id: str, *, grace_period_seconds: Optional[int] = None, secret: Optional[str] = None
    ) -> RotatedSecret:
        """Replaces the signing secret; the old one still signs ``webhook-signature`` for the grace period."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/rotate_secret"
        body = compact(grace_period_seconds=grace_period_seconds, secret=secret)
        return RotatedSecret(self._transport.request("POST", path, body=body).body)

    def stats(self, webhook_id: str, *, window: Optional[str] = None) -> WebhookStats:
        """Delivery counts, success rate and latency over ``window`` (``1h``, ``6h``, ``24h``, ``7d``, ``30d``)."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/stats"
        return WebhookStats(self._transport.request("GET", path, query={"window": window}).body)

    def preview(self, webhook_id: str, *, event_type: str, payload: Optional[Mapping[str, Any]] = None) -> BodyPreview:
        """The exact body this webhook would be sent for such an event, without sending it."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/preview"
        body = {"event_type": event_type, "payload": dict(payload or {})}
        return BodyPreview(self._transport.request("POST", path, body=body).body)

    def filter_test(self, webhook_id: str, *, event: Mapping[str, Any]) -> FilterTestResult:
        """Would ``event`` (``{"type", "data", …}``) reach this webhook, and if not, which filter said no."""
        path = f"/v1/webhooks/{segment(webhook_id, 'webhook_id')}/filter_test"
        body: Dict[str, Any] = {"event": dict(event)}
        return FilterTestResult(self._transport.request("POST", path, body=body).body)
