"""The client's resource groups."""
from .deliveries import Deliveries
from .event_types import EventTypes
from .events import Events
from .webhooks import Webhooks

__all__ = ["Deliveries", "EventTypes", "Events", "Webhooks"]
