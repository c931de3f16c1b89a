"""``client.event_types``: the event catalogue and custom types."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from .._models import EventType
from .._pagination import ListResult
from ._base import Resource, compact


class EventTypes(Resource):
    """List the types an account can use; register its own."""

    def list(self) -> ListResult[EventType]:
        """The seed's eight, the operational ones and the account's own (one request, not paginated)."""
        return ListResult(self._transport, "/v1/event_types", EventType, paginated=False)

    def create(self, *, name: str, description: str, schema: Optional[Mapping[str, Any]] = None) -> EventType:
        """Registers a custom type; with a JSON ``schema``, events' ``data`` is validated against it."""
        body = compact(name=name, description=description, schema=schema)
        return EventType(self._transport.request("POST", "/v1/event_types", body=body).body)
