"""When to retry a request and how long to wait before doing so."""
from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime
from typing import Callable, Optional

#: First backoff delay in seconds; doubles per retry.
INITIAL_DELAY = 0.5
#: Longest backoff delay in seconds.
MAX_DELAY = 8.0
#: A ``Retry-After`` longer than this (seconds) is not waited for: the error is raised instead.
MAX_RETRY_AFTER = 60.0

#: Statuses worth another try: rate limited, or the service failing.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Methods whose repetition cannot create a second effect.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_idempotent(method: str, headers: "dict[str, str]") -> bool:
    """GET/HEAD/PUT/DELETE, or any request carrying an ``Idempotency-Key``."""
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == "idempotency-key" for name in headers)


def parse_retry_after(value: Optional[str], now: Optional[Callable[[], float]] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date); ``None`` if absent or unparsable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (now or time.time)()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(retry_number: int, rand: Callable[[], float] = random.random) -> float:
    """Delay before retry ``retry_number`` (0-based): exponential, capped, with jitter.

    The jitter keeps the upper half of the delay and randomises the rest, so
    many clients failing at once spread out but none retries immediately.
    """
    ceiling = min(MAX_DELAY, INITIAL_DELAY * (2 ** retry_number))
    return ceiling / 2 + rand() * ceiling / 2
