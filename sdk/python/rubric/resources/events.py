"""``client.events``: sending events (idempotently), reading and replaying them."""
from __future__ import annotations

import uuid
from typing import Any, Dict, Iterable, Mapping, Optional

from .._models import BatchResult, Event, ReplayResult
from .._pagination import ListResult
from ._base import Resource, TimeArg, compact, iso_time, segment


def new_idempotency_key() -> str:
    """A fresh random idempotency key."""
    return f"rbk_{uuid.uuid4().hex}"


def _wire_event(item: Mapping[str, Any]) -> Dict[str, Any]:
    """One batch item on the wire: the seed's ``event_type``/``payload`` names become ``type``/``data``."""
    out = dict(item)
    if "event_type" in out:
        out["type"] = out.pop("event_type")
    if "payload" in out:
        out["data"] = out.pop("payload")
    out.setdefault("data", {})
    return out


class Events(Resource):
    """Send events to every matching webhook; list, read and replay them."""

    def send(
        self,
        *,
        event_type: str,
        payload: Mapping[str, Any],
        metadata: Optional[Mapping[str, Any]] = None,
        project_id: Optional[str] = None,
        severity: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Event:
        """Sends one event (``payload`` is its ``data``); it is stored before this returns.

        Always sent with an ``Idempotency-Key`` (a random one unless given), so
        an automatic retry after a lost answer returns the first event instead
        of creating a second one. Pass your own key to deduplicate across
        processes (e.g. ``f"{evaluation_id}-completed"``).
        """
        body = compact(type=event_type, data=dict(payload), metadata=metadata, project_id=project_id, severity=severity)
        headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
        return Event(self._transport.request("POST", "/v1/events", body=body, headers=headers).body)

    def send_batch(self, events: Iterable[Mapping[str, Any]]) -> BatchResult:
        """Sends up to 100 events at once; if one is invalid, none is stored.

        Items take ``event_type``/``payload`` (or the wire's ``type``/``data``),
        ``metadata``, ``project_id``, ``severity`` and ``idempotency_key``. Items
        without a key get a random one, which makes the whole call safe to retry.
        """
        items = [_wire_event(e) for e in events]
        for item in items:
            item.setdefault("idempotency_key", new_idempotency_key())
        res = self._transport.request("POST", "/v1/events/batch", body={"events": items}, retryable=True)
        return BatchResult(res.body)

    def get(self, event_id: str) -> Event:
        """One event with its deliveries."""
        return Event(self._transport.request("GET", f"/v1/events/{segment(event_id, 'event_id')}").body)

    def list(
        self,
        *,
        limit: Optional[int] = None,
        event_type: Optional[str] = None,
        status: Optional[str] = None,
        since: Optional[TimeArg] = None,
        until: Optional[TimeArg] = None,
        page_size: Optional[int] = None,
    ) -> ListResult[Event]:
        """Events, newest first (up to ``limit``); ``status="dead_lettered"`` lists the dead-letter queue."""
        query = {"type": event_type, "status": status, "since": iso_time(since), "until": iso_time(until)}
        return ListResult(self._transport, "/v1/events", Event, query=query, limit=limit, page_size=page_size)

    def replay(self, event_id: str, *, webhook_id: Optional[str] = None) -> ReplayResult:
        """Delivers the event again: to ``webhook_id``, or to every active webhook it matches."""
        path = f"/v1/events/{segment(event_id, 'event_id')}/replay"
        return ReplayResult(self._transport.request("POST", path, body=compact(webhook_id=webhook_id)).body)
