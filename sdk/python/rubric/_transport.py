"""HTTP for the SDK: builds requests, retries the idempotent ones, maps errors.

Standard library only (``urllib.request``). One :class:`Transport` per client.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ._errors import APIConnectionError, APIError, APITimeoutError, error_for_status
from ._retry import MAX_RETRY_AFTER, RETRYABLE_STATUSES, backoff_delay, is_idempotent, parse_retry_after
from ._version import VERSION

#: Query and JSON values: what ``json.dumps`` accepts.
Params = Mapping[str, Any]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects; following one would resend the API key elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class Response:
    """A decoded API answer: status, lower-case headers and the JSON body."""

    def __init__(self, status: int, headers: Dict[str, str], body: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Transport:
    """Sends requests to one base URL with one API key.

    Args:
        base_url: e.g. ``http://127.0.0.1:8787`` (no trailing ``/v1``).
        api_key: sent as ``Authorization: Bearer <key>``.
        timeout: seconds per attempt (connect and read).
        max_retries: extra attempts for idempotent requests.
        sleep: waits between attempts; injectable so tests do not really sleep.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        max_retries: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirects())

    def url(self, path: str, query: Optional[Params] = None) -> str:
        """Absolute URL for ``path``; ``None`` query values are left out, booleans are ``true``/``false``."""
        url = self.base_url + path
        pairs = [(k, _query_value(v)) for k, v in (query or {}).items() if v is not None]
        return f"{url}?{urllib.parse.urlencode(pairs)}" if pairs else url

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Params] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        retryable: Optional[bool] = None,
    ) -> Response:
        """Sends one call, retrying it when that is safe; returns the 2xx answer or raises an :class:`APIError`.

        ``retryable`` overrides the default rule (idempotent methods, or an ``Idempotency-Key`` header).
        """
        all_headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"rubric-python/{VERSION}",
        }
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        may_retry = is_idempotent(method, all_headers) if retryable is None else retryable
        url = self.url(path, query)

        retry = 0
        while True:
            try:
                return self._send_once(method, url, data, all_headers)
            except APIError as err:
                wait = self._retry_wait(err, retry) if may_retry and retry < self.max_retries else None
                if wait is None:
                    raise
                self.sleep(wait)
                retry += 1

    def _retry_wait(self, err: APIError, retry: int) -> Optional[float]:
        """Seconds to wait before retrying after ``err``, or ``None`` to give up."""
        if isinstance(err, APIConnectionError):
            return backoff_delay(retry)
        if err.status not in RETRYABLE_STATUSES:
            return None
        hinted = parse_retry_after(err.headers.get("retry-after"))
        if hinted is None:
            return backoff_delay(retry)
        # A server asking for a long pause gets the error back now rather than a hung caller.
        return hinted if hinted <= MAX_RETRY_AFTER else None

    def _send_once(self, method: str, url: str, data: Optional[bytes], headers: Dict[str, str]) -> Response:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as res:
                status, res_headers, raw = res.status, _lower(res.headers.items()), res.read()
        except urllib.error.HTTPError as err:
            status, res_headers = err.code, _lower(err.headers.items() if err.headers else [])
            try:
                raw = err.read()
            except OSError:
                raw = b""
            finally:
                err.close()
        except (socket.timeout, TimeoutError) as err:
            raise APITimeoutError(f"{method} {url} timed out after {self.timeout} s") from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, (socket.timeout, TimeoutError)):
                raise APITimeoutError(f"{method} {url} timed out after {self.timeout} s") from err
            raise APIConnectionError(f"{method} {url} failed: {err.reason}") from err
        except (ConnectionError, OSError, http.client.HTTPException) as err:
            # Includes a connection dropped mid-answer (RemoteDisconnected, IncompleteRead).
            raise APIConnectionError(f"{method} {url} failed: {err}") from err

        body = _decode(raw)
        if 200 <= status < 300:
            return Response(status, res_headers, body)
        raise _api_error(method, url, status, res_headers, body)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lower(items: Any) -> Dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _api_error(method: str, url: str, status: int, headers: Dict[str, str], body: Any) -> APIError:
    """The exception for a non-2xx answer, from the API's one error shape when it has it."""
    code, message, details, request_id = _error_fields(body)
    request_id = headers.get("x-request-id") or request_id
    if message is None:
        message = f"{method} {urllib.parse.urlsplit(url).path} answered HTTP {status}"
    cls = error_for_status(status)
    return cls(message, status=status, code=code, request_id=request_id, details=details, headers=headers, body=body)


def _error_fields(body: Any) -> Tuple[Optional[str], Optional[str], Any, Optional[str]]:
    """``code, message, details, request_id`` of ``{"error": {...}}``; ``None`` for what is absent."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, None, None, None
    code = err.get("code") if isinstance(err.get("code"), str) else None
    message = err.get("message") if isinstance(err.get("message"), str) else None
    details = err.get("details") if isinstance(err.get("details"), list) else None
    request_id = err.get("request_id") if isinstance(err.get("request_id"), str) else None
    return code, message, details, request_id
