"""rubric.webhooks.verify_signature: both schemes, the Standard Webhooks vector, and every failure reason."""
from __future__ import annotations

import base64
import email.message
import hashlib
import hmac
import json
import unittest

import rubric
from rubric.webhooks import sign_rubric, sign_standard, verify_signature

# The published Standard Webhooks test vector.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = '{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_760_000_000
BODY = json.dumps({"id": "evt_1", "type": "evaluation.completed", "created_at": "2024-03-15T10:30:00Z", "data": {"x": 1}, "metadata": {}}, separators=(",", ":"))
SEED_SECRET = "whsec_your_signing_secret"  # not base64: only X-Rubric-Signature is sent for it
OLD = "whsec_" + base64.b64encode(b"o" * 24).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 24).decode()


def seed_signature(secret: str, ts: int, body: str) -> str:
    """Exactly what the seed's verify_webhook.py computes."""
    return "sha256=" + hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()


def delivery(secrets, ts=NOW, body=BODY, msg_id="evt_1"):
    """Headers as the service sends them: X-Rubric-* with the newest secret, webhook-signature with all."""
    h = {"X-Rubric-Timestamp": str(ts), "X-Rubric-Signature": seed_signature(secrets[0], ts, body), "X-Rubric-Event-Id": msg_id}
    standard = [sign_standard(s, msg_id, ts, body) for s in secrets if not s.startswith("whsec_your")]
    if standard:
        h.update({"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": " ".join(standard)})
    return h


class StandardWebhooksVectors(unittest.TestCase):
    def headers(self, sig=SW_SIG, ts=SW_TS):
        return {"webhook-id": SW_ID, "webhook-timestamp": str(ts), "webhook-signature": sig}

    def test_signing_reproduces_the_vector(self) -> None:
        self.assertEqual(sign_standard(SW_SECRET, SW_ID, SW_TS, SW_BODY), SW_SIG)
        self.assertEqual(sign_standard(SW_SECRET[len("whsec_"):], SW_ID, SW_TS, SW_BODY), SW_SIG, "the prefix is optional")

    def test_the_vector_verifies(self) -> None:
        self.assertEqual(verify_signature(SW_BODY, self.headers(), SW_SECRET, now=SW_TS), {"test": 2432232314})
        self.assertEqual(verify_signature(SW_BODY.encode(), self.headers(), SW_SECRET[6:], now=SW_TS + 299), {"test": 2432232314})

    def test_one_of_several_signatures_and_other_versions(self) -> None:
        sig = f"v1,bm9wZQ== v2,{SW_SIG[3:]} {SW_SIG}"
        self.assertEqual(verify_signature(SW_BODY, self.headers(sig), SW_SECRET, now=SW_TS), {"test": 2432232314})

    def test_vector_failures(self) -> None:
        cases = [
            ("tampered body", '{"test": 2432232315}', self.headers(), SW_TS, "signature_mismatch"),
            ("signature of another version only", SW_BODY, self.headers("v2," + SW_SIG[3:]), SW_TS, "signature_mismatch"),
            ("bad signature", SW_BODY, self.headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"), SW_TS, "signature_mismatch"),
            ("expired", SW_BODY, self.headers(), SW_TS + 301, "timestamp_too_old"),
            ("future", SW_BODY, self.headers(), SW_TS - 301, "timestamp_too_new"),
            ("no comma", SW_BODY, self.headers("g0hM9SsE"), SW_TS, "malformed_signature"),
            ("timestamp not a number", SW_BODY, self.headers(ts="16142653a0"), SW_TS, "invalid_timestamp"),
        ]
        for name, body, headers, now, reason in cases:
            with self.subTest(name):
                with self.assertRaises(rubric.WebhookVerificationError) as ctx:
                    verify_signature(body, headers, SW_SECRET, now=now)
                self.assertEqual(ctx.exception.reason, reason)


class RubricScheme(unittest.TestCase):
    def test_the_seed_scheme_verifies(self) -> None:
        headers = delivery([SEED_SECRET])
        self.assertNotIn("webhook-signature", headers)
        self.assertEqual(sign_rubric(SEED_SECRET, NOW, BODY), headers["X-Rubric-Signature"])
        self.assertEqual(verify_signature(BODY, headers, SEED_SECRET, now=NOW)["id"], "evt_1")

    def test_header_names_in_any_case_and_any_container(self) -> None:
        h = delivery([NEW])
        self.assertEqual(verify_signature(BODY, {k.lower(): v for k, v in h.items()}, NEW, now=NOW)["id"], "evt_1")
        self.assertEqual(verify_signature(BODY, list(h.items()), NEW, now=NOW)["id"], "evt_1")
        msg = email.message.Message()  # what http.server's self.headers is
        for k, v in h.items():
            msg[k] = v
        self.assertEqual(verify_signature(BODY.encode(), msg, NEW, now=NOW)["id"], "evt_1")

    def test_tolerance_edges(self) -> None:
        h = delivery([SEED_SECRET])
        verify_signature(BODY, h, SEED_SECRET, now=NOW + 300)
        verify_signature(BODY, h, SEED_SECRET, now=NOW - 300)
        verify_signature(BODY, h, SEED_SECRET, tolerance=1000, now=NOW + 900)
        with self.assertRaises(rubric.WebhookVerificationError) as ctx:
            verify_signature(BODY, h, SEED_SECRET, tolerance=60, now=NOW + 61)
        self.assertEqual(ctx.exception.reason, "timestamp_too_old")

    def test_failures(self) -> None:
        good = delivery([SEED_SECRET])
        cases = [
            ("tampered body", BODY.replace('"x":1', '"x":2'), good, SEED_SECRET, "signature_mismatch"),
            ("wrong secret", BODY, good, "whsec_some_other_secret", "signature_mismatch"),
            ("expired", BODY, delivery([SEED_SECRET], ts=NOW - 301), SEED_SECRET, "timestamp_too_old"),
            ("signed in the future", BODY, delivery([SEED_SECRET], ts=NOW + 301), SEED_SECRET, "timestamp_too_new"),
            ("timestamp changed", BODY, {**good, "X-Rubric-Timestamp": str(NOW + 1)}, SEED_SECRET, "signature_mismatch"),
            ("no headers", BODY, {"Content-Type": "application/json"}, SEED_SECRET, "missing_headers"),
            ("signature only", BODY, {"X-Rubric-Signature": good["X-Rubric-Signature"]}, SEED_SECRET, "missing_headers"),
            ("no sha256= prefix", BODY, {**good, "X-Rubric-Signature": good["X-Rubric-Signature"][7:]}, SEED_SECRET, "malformed_signature"),
            ("truncated hex", BODY, {**good, "X-Rubric-Signature": good["X-Rubric-Signature"][:-2]}, SEED_SECRET, "malformed_signature"),
            ("empty signature", BODY, {**good, "X-Rubric-Signature": ""}, SEED_SECRET, "malformed_signature"),
            ("timestamp not digits", BODY, {**good, "X-Rubric-Timestamp": "-1"}, SEED_SECRET, "invalid_timestamp"),
            ("timestamp huge", BODY, {**good, "X-Rubric-Timestamp": "9" * 40}, SEED_SECRET, "invalid_timestamp"),
            ("no secret", BODY, good, "", "invalid_secret"),
            ("empty secret list", BODY, good, [], "invalid_secret"),
        ]
        for name, body, headers, secret, reason in cases:
            with self.subTest(name):
                with self.assertRaises(rubric.WebhookVerificationError) as ctx:
                    verify_signature(body, headers, secret, now=NOW)
                self.assertEqual(ctx.exception.reason, reason)
                self.assertTrue(str(ctx.exception))

    def test_signed_body_that_is_not_json(self) -> None:
        body = "not json"
        with self.assertRaises(rubric.WebhookVerificationError) as ctx:
            verify_signature(body, delivery([SEED_SECRET], body=body), SEED_SECRET, now=NOW)
        self.assertEqual(ctx.exception.reason, "invalid_payload")

    def test_parsed_json_is_refused_as_payload(self) -> None:
        with self.assertRaises(TypeError):
            verify_signature(json.loads(BODY), delivery([SEED_SECRET]), SEED_SECRET, now=NOW)  # type: ignore[arg-type]


class Rotation(unittest.TestCase):
    """After rotate_secret: X-Rubric-Signature carries the new secret's, webhook-signature both."""

    def setUp(self) -> None:
        self.headers = delivery([NEW, OLD])
        self.assertEqual(len(self.headers["webhook-signature"].split(" ")), 2)

    def test_new_secret_verifies(self) -> None:
        self.assertEqual(verify_signature(BODY, self.headers, NEW, now=NOW)["id"], "evt_1")

    def test_old_secret_verifies_through_the_standard_header(self) -> None:
        self.assertEqual(verify_signature(BODY, self.headers, OLD, now=NOW)["id"], "evt_1")

    def test_a_receiver_holding_both_secrets(self) -> None:
        self.assertEqual(verify_signature(BODY, delivery([NEW]), [OLD, NEW], now=NOW)["id"], "evt_1")
        self.assertEqual(verify_signature(BODY, delivery([OLD]), (OLD, NEW), now=NOW)["id"], "evt_1")

    def test_old_secret_fails_once_the_grace_period_is_over(self) -> None:
        with self.assertRaises(rubric.WebhookVerificationError) as ctx:
            verify_signature(BODY, delivery([NEW]), OLD, now=NOW)
        self.assertEqual(ctx.exception.reason, "signature_mismatch")

    def test_a_malformed_rubric_header_does_not_hide_a_valid_standard_one(self) -> None:
        headers = {**self.headers, "X-Rubric-Signature": "garbage"}
        self.assertEqual(verify_signature(BODY, headers, OLD, now=NOW)["id"], "evt_1")


if __name__ == "__main__":
    unittest.main()
