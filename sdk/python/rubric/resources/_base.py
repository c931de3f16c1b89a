"""What every resource shares: the transport and small argument helpers."""
from __future__ import annotations

import datetime as _dt
import urllib.parse
from typing import Any, Dict, Optional, Union

from .._transport import Transport

#: A time argument: an ISO-8601 string, or a datetime (naive ones are taken as UTC).
TimeArg = Union[str, _dt.datetime]


class _NotGiven:
    """Marks an argument that was not passed (``None`` means JSON ``null`` where that clears a field)."""

    _instance: Optional["_NotGiven"] = None

    def __new__(cls) -> "_NotGiven":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


class Resource:
    """A group of calls (``client.webhooks``, ``client.events`` …) on one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport


def segment(value: str, what: str) -> str:
    """One path segment from an id; refuses empty ids, quotes everything else so an id cannot change the path."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return urllib.parse.quote(value, safe="")


def iso_time(value: Optional[TimeArg]) -> Optional[str]:
    """An ISO-8601 string for the API (``…Z`` for UTC datetimes); strings pass through."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    text = value.astimezone(_dt.timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def compact(**fields: Any) -> Dict[str, Any]:
    """The fields that were given: drops ``None`` and ``NOT_GIVEN``."""
    return {k: v for k, v in fields.items() if v is not None and v is not NOT_GIVEN}


def given(**fields: Any) -> Dict[str, Any]:
    """The fields that were passed, keeping ``None`` (sent as ``null``)."""
    return {k: v for k, v in fields.items() if v is not NOT_GIVEN}
