"""Verifying the webhooks Rubric sends (for receivers).

Two signature schemes arrive on every delivery, and either one verifies it:

* ``X-Rubric-Timestamp`` + ``X-Rubric-Signature``: ``sha256=`` + hex
  HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed by the UTF-8 bytes of the whole
  secret (the seed's ``verify_webhook.py``);
* Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``): space-separated ``v1,`` + base64 HMAC-SHA256 of
  ``"{id}.{timestamp}.{body}"`` keyed by the base64-decoded part of
  ``whsec_…``. During a secret rotation it carries one signature per secret.

Pass several secrets (old and new) to accept either during a rotation.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._errors import WebhookVerificationError

__all__ = ["verify_signature", "sign_rubric", "sign_standard", "WebhookVerificationError"]

#: Default largest distance, in seconds, between a delivery's timestamp and now.
DEFAULT_TOLERANCE = 300

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]

_STRICT_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$")


def _as_bytes(payload: Union[bytes, bytearray, str]) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    raise TypeError("payload must be the raw request body (bytes or str), not parsed JSON")


def _lower_headers(headers: Headers) -> dict:
    """Header names lower-cased; works for dicts, ``http.server``/email messages and Flask/Werkzeug headers."""
    items = headers.items() if hasattr(headers, "items") else headers
    return {str(k).lower(): str(v) for k, v in items}  # type: ignore[union-attr]


def standard_key(secret: str) -> Optional[bytes]:
    """The Standard Webhooks key of a secret (base64 after ``whsec_``), or ``None`` if it is not base64."""
    text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    if not text or not _STRICT_BASE64.match(text):
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def sign_rubric(secret: str, timestamp: int, payload: Union[bytes, str]) -> str:
    """The ``X-Rubric-Signature`` value for a body (useful for tests of a receiver)."""
    message = str(timestamp).encode("ascii") + b"." + _as_bytes(payload)
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_standard(secret: str, msg_id: str, timestamp: int, payload: Union[bytes, str]) -> str:
    """One ``webhook-signature`` entry (``v1,<base64>``); raises ``ValueError`` for a secret that is not base64."""
    key = standard_key(secret)
    if key is None:
        raise ValueError("a Standard Webhooks secret must be base64 (optionally after 'whsec_')")
    message = f"{msg_id}.{timestamp}.".encode("utf-8") + _as_bytes(payload)
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def _check_timestamp(raw: str, tolerance: int, now: float) -> None:
    if not raw.isdigit() or len(raw) > 12:
        raise WebhookVerificationError("invalid_timestamp", f"timestamp {raw[:32]!r} is not Unix seconds")
    ts = int(raw)
    if now - ts > tolerance:
        raise WebhookVerificationError("timestamp_too_old", f"timestamp is {int(now - ts)} s old (tolerance {tolerance} s)")
    if ts - now > tolerance:
        raise WebhookVerificationError("timestamp_too_new", f"timestamp is {int(ts - now)} s in the future (tolerance {tolerance} s)")


def _rubric_matches(h: dict, body: bytes, secrets: Sequence[str]) -> bool:
    """Whether ``X-Rubric-Signature`` holds a valid signature for one of the secrets."""
    given = [s for s in re.split(r"[\s,]+", h["x-rubric-signature"].strip()) if s]
    if not given or not all(s.startswith("sha256=") and len(s) == 71 for s in given):
        raise WebhookVerificationError("malformed_signature", "X-Rubric-Signature must be 'sha256=' and 64 hex digits")
    found = False
    for secret in secrets:
        expected = sign_rubric(secret, int(h["x-rubric-timestamp"]), body)
        for sig in given:
            # Every pair is compared (no early exit) and each comparison is constant-time.
            found |= hmac.compare_digest(sig.encode("ascii", "replace"), expected.encode("ascii"))
    return found


def _standard_matches(h: dict, body: bytes, secrets: Sequence[str]) -> bool:
    """Whether ``webhook-signature`` holds a valid ``v1`` signature for one of the secrets."""
    entries = [e for e in h["webhook-signature"].split(" ") if e]
    if not entries or not all("," in e for e in entries):
        raise WebhookVerificationError("malformed_signature", "webhook-signature must be space-separated 'v1,<base64>' entries")
    v1 = [e.split(",", 1)[1] for e in entries if e.split(",", 1)[0] == "v1"]
    keys = [k for k in (standard_key(s) for s in secrets) if k is not None]
    found = False
    for key in keys:
        message = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode("utf-8") + body
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())
        for sig in v1:
            found |= hmac.compare_digest(sig.encode("ascii", "replace"), expected)
    return found


def verify_signature(
    payload: Union[bytes, bytearray, str],
    headers: Headers,
    secret: Union[str, Sequence[str]],
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: Optional[float] = None,
) -> Any:
    """Verifies a delivery and returns its parsed JSON body.

    Args:
        payload: the raw request body, exactly as received (bytes, or str).
        headers: the request headers (any mapping or ``(name, value)`` pairs; names in any case).
        secret: the webhook's signing secret, or several (e.g. old and new during a rotation).
        tolerance: largest accepted distance in seconds between the timestamp and now.
        now: the current Unix time (for tests); defaults to ``time.time()``.

    Raises:
        WebhookVerificationError: with ``reason`` saying what failed.
    """
    secrets: List[str] = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise WebhookVerificationError("invalid_secret", "secret must be a non-empty string or a list of them")
    body = _as_bytes(payload)
    h = _lower_headers(headers)
    now = time.time() if now is None else now

    has_rubric = "x-rubric-signature" in h and "x-rubric-timestamp" in h
    has_standard = all(k in h for k in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not has_rubric and not has_standard:
        raise WebhookVerificationError(
            "missing_headers", "no X-Rubric-Signature/X-Rubric-Timestamp or webhook-id/webhook-timestamp/webhook-signature headers"
        )
    # The timestamps are checked first: a replayed old delivery fails whatever its signature.
    for name in ("x-rubric-timestamp", "webhook-timestamp"):
        if name in h and (has_rubric if name.startswith("x-") else has_standard):
            _check_timestamp(h[name].strip(), tolerance, now)

    # Either scheme verifies the body; the Standard header also carries rotated secrets' signatures.
    malformed: Optional[WebhookVerificationError] = None
    ok = False
    for present, matches in ((has_rubric, _rubric_matches), (has_standard, _standard_matches)):
        if ok or not present:
            continue
        try:
            ok = matches(h, body, secrets)
        except WebhookVerificationError as err:
            malformed = err
    if not ok:
        raise malformed or WebhookVerificationError("signature_mismatch", "no signature matches the secret")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise WebhookVerificationError("invalid_payload", f"the signed body is not JSON: {err}") from err
