"""The :class:`Rubric` client."""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

from ._errors import MissingAPIKeyError
from ._transport import Transport
from .resources import Deliveries, Events, EventTypes, Webhooks

#: Where ``npm start`` serves the API when neither ``base_url`` nor ``RUBRIC_BASE_URL`` is given.
DEFAULT_BASE_URL = "http://127.0.0.1:8787"


class Rubric:
    """A client for the Rubric Webhooks API.

    Args:
        api_key: defaults to the ``RUBRIC_API_KEY`` environment variable; required.
        base_url: defaults to ``RUBRIC_BASE_URL``, else the local development address.
        timeout: seconds per HTTP attempt.
        max_retries: extra attempts for idempotent calls (429, 5xx, connection errors).
        sleep: how to wait between retries (injectable for tests).

    Raises:
        MissingAPIKeyError: when no API key is given or set in the environment.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 30,
        max_retries: int = 2,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("RUBRIC_API_KEY")
        if not api_key:
            raise MissingAPIKeyError(
                "No Rubric API key: pass Rubric(api_key=...) or set the RUBRIC_API_KEY environment variable "
                "(`npm start` prints one)"
            )
        base_url = base_url or os.environ.get("RUBRIC_BASE_URL") or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._transport = Transport(self.base_url, api_key, timeout, max_retries, sleep)
        self.webhooks = Webhooks(self._transport)
        self.events = Events(self._transport)
        self.deliveries = Deliveries(self._transport)
        self.event_types = EventTypes(self._transport)

    def __repr__(self) -> str:
        return f"Rubric(base_url={self.base_url!r})"
