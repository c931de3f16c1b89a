"""Lists are lazy iterables that follow next_cursor and stop at `limit` items in total."""
from __future__ import annotations

import unittest

from rubric import ListResult, Rubric

from .fake_api import FakeAPI


def page(ids, cursor):
    return {"data": [{"id": i, "name": i} for i in ids], "next_cursor": cursor}


class Pagination(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeAPI().__enter__()
        self.addCleanup(self.api.__exit__)
        self.client = Rubric(api_key="rk_test_key", base_url=self.api.url, sleep=lambda s: None)

    def test_lazy_until_iterated_and_follows_cursors(self) -> None:
        self.api.answer(200, page(["wh_A", "wh_B"], "wh_B")).answer(200, page(["wh_C", "wh_D"], "wh_D")).answer(200, page(["wh_E"], None))
        webhooks = self.client.webhooks.list(page_size=2)
        self.assertIsInstance(webhooks, ListResult)
        self.assertEqual(self.api.requests, [], "no request before iteration")
        self.assertEqual([wh.name for wh in webhooks], ["wh_A", "wh_B", "wh_C", "wh_D", "wh_E"])
        self.assertEqual([r.query for r in self.api.requests], [{"limit": "2"}, {"limit": "2", "cursor": "wh_B"}, {"limit": "2", "cursor": "wh_D"}])

    def test_limit_caps_the_total_and_the_last_page_size(self) -> None:
        self.api.answer(200, page(["a", "b"], "b")).answer(200, page(["c", "d"], "d")).answer(200, page(["e"], "e"))
        got = [d.id for d in self.client.webhooks.deliveries("wh_1", limit=5, page_size=2)]
        self.assertEqual(got, ["a", "b", "c", "d", "e"])
        self.assertEqual([r.query.get("limit") for r in self.api.requests], ["2", "2", "1"], "never asks for more than it will yield")
        self.assertEqual(len(self.api.requests), 3, "does not fetch past the limit even though next_cursor is set")

    def test_limit_is_the_page_size_up_to_the_api_maximum(self) -> None:
        self.api.answer(200, page(["a"], None))
        list(self.client.webhooks.deliveries("wh_1", limit=100))
        self.api.answer(200, page(["a"], None))
        list(self.client.webhooks.deliveries("wh_1", limit=1000, page_size=250))
        self.assertEqual([r.query["limit"] for r in self.api.requests], ["100", "250"])

    def test_a_server_page_larger_than_the_limit_is_cut(self) -> None:
        self.api.answer(200, page(["a", "b", "c"], "c"))
        self.assertEqual([w.id for w in self.client.webhooks.list(limit=2)], ["a", "b"])
        self.assertEqual(len(self.api.requests), 1)

    def test_zero_limit_and_empty_list(self) -> None:
        self.assertEqual(list(self.client.webhooks.list(limit=0)), [])
        self.assertEqual(self.api.requests, [])
        self.api.answer(200, {"data": [], "next_cursor": None})
        self.assertIsNone(self.client.webhooks.list().first())

    def test_each_iteration_starts_again_and_pages_are_exposed(self) -> None:
        self.api.answer(200, page(["a"], None)).answer(200, page(["a2", "b2"], None))
        webhooks = self.client.webhooks.list()
        self.assertEqual([w.id for w in webhooks], ["a"])
        self.assertEqual([[w.id for w in p] for p in webhooks.pages()], [["a2", "b2"]])
        self.assertNotIn("cursor", self.api.requests[1].query)

    def test_unpaginated_event_types(self) -> None:
        self.api.answer(200, {"data": [{"name": "evaluation.completed", "builtin": True}]})
        types = self.client.event_types.list()
        self.assertEqual([t.name for t in types], ["evaluation.completed"])
        self.assertEqual(self.api.requests[0].query, {})

    def test_invalid_page_arguments(self) -> None:
        with self.assertRaises(ValueError):
            self.client.webhooks.list(limit=-1)
        with self.assertRaises(ValueError):
            self.client.webhooks.list(page_size=251)


if __name__ == "__main__":
    unittest.main()
