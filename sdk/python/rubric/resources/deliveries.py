"""``client.deliveries``: one delivery with its attempts, and retrying it."""
from __future__ import annotations

from .._models import Delivery, DeliveryRetry
from ._base import Resource, segment


class Deliveries(Resource):
    """Read and retry single deliveries (one event to one webhook)."""

    def get(self, delivery_id: str) -> Delivery:
        """The delivery and its ``attempt_log`` (every attempt's request headers, response and timing)."""
        return Delivery(self._transport.request("GET", f"/v1/deliveries/{segment(delivery_id, 'delivery_id')}").body)

    def retry(self, delivery_id: str) -> DeliveryRetry:
        """Queues one manual attempt now, in its webhook's order."""
        path = f"/v1/deliveries/{segment(delivery_id, 'delivery_id')}/retry"
        return DeliveryRetry(self._transport.request("POST", path).body)
