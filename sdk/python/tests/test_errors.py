"""Error mapping: each status to its exception, with status, code, message, details and request id."""
from __future__ import annotations

import unittest

import rubric
from rubric import Rubric

from .fake_api import FakeAPI, error_body

CASES = [
    (400, "bad_request", rubric.BadRequestError),
    (401, "unauthorized", rubric.AuthenticationError),
    (403, "forbidden", rubric.PermissionDeniedError),
    (404, "not_found", rubric.NotFoundError),
    (409, "conflict", rubric.ConflictError),
    (413, "payload_too_large", rubric.ValidationError),
    (415, "unsupported_media_type", rubric.ValidationError),
    (422, "validation_failed", rubric.ValidationError),
    (429, "rate_limited", rubric.RateLimitError),
    (500, "internal_error", rubric.InternalServerError),
    (503, "unavailable", rubric.InternalServerError),
]


class ErrorMapping(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeAPI().__enter__()
        self.addCleanup(self.api.__exit__)
        self.client = Rubric(api_key="rk_test_key", base_url=self.api.url, max_retries=0)

    def test_every_status_maps_to_its_exception(self) -> None:
        for status, code, cls in CASES:
            with self.subTest(status=status):
                self.api.answer(status, error_body(code, f"message {status}", "req_in_body"), headers={"X-Request-Id": f"req_{status}"})
                with self.assertRaises(cls) as ctx:
                    self.client.webhooks.get("wh_1")
                err = ctx.exception
                self.assertIsInstance(err, rubric.APIError)
                self.assertIsInstance(err, rubric.RubricError)
                self.assertEqual((err.status, err.code, err.message, err.request_id), (status, code, f"message {status}", f"req_{status}"))
                self.assertEqual(str(err), f"[{status} {code}] message {status} (request id req_{status})")

    def test_validation_details(self) -> None:
        details = [{"field": "url", "message": "must use https (plain http is not allowed)"}]
        self.api.answer(422, error_body("validation_failed", "Invalid request: url must use https", "req_v", details))
        with self.assertRaises(rubric.ValidationError) as ctx:
            self.client.webhooks.create(name="n", url="http://x", events=["*"])
        self.assertEqual(ctx.exception.details, details)
        self.assertEqual(ctx.exception.request_id, "req_v", "the body's request id when the header is absent")

    def test_a_body_that_is_not_the_error_shape(self) -> None:
        self.api.answer(502, raw=b"<html>bad gateway</html>")
        with self.assertRaises(rubric.InternalServerError) as ctx:
            self.client.webhooks.get("wh_1")
        err = ctx.exception
        self.assertEqual((err.status, err.code, err.request_id), (502, None, None))
        self.assertEqual(err.message, "GET /v1/webhooks/wh_1 answered HTTP 502")
        self.assertEqual(err.body, "<html>bad gateway</html>")

    def test_unmapped_4xx_is_a_plain_api_error(self) -> None:
        self.api.answer(418, {"error": {"code": "teapot", "message": "no"}})
        with self.assertRaises(rubric.APIError) as ctx:
            self.client.webhooks.get("wh_1")
        self.assertIs(type(ctx.exception), rubric.APIError)
        self.assertEqual(ctx.exception.code, "teapot")


if __name__ == "__main__":
    unittest.main()
