// Lists as async iterators over a real server that pages with cursors: every
// page is followed, `limit` caps the total (and the page size asked for), and
// iteration stops at `next_cursor: null`.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { Rubric } from "../../dist/index.js";
import { startFakeApi } from "../support/fake-api.mjs";

const ALL = Array.from({ length: 7 }, (_, i) => ({ id: `wh_${i + 1}`, name: `hook ${i + 1}` }));
const SERVER_PAGE = 3; // the fake pages by 3 at most, whatever limit asks for

let api;
let client;
before(async () => {
  api = await startFakeApi((req) => {
    const start = req.query.cursor ? ALL.findIndex((w) => w.id === req.query.cursor) + 1 : 0;
    const size = Math.min(Number(req.query.limit ?? 50), SERVER_PAGE);
    const data = ALL.slice(start, start + size);
    const more = start + size < ALL.length;
    return { json: { data, next_cursor: more ? data.at(-1).id : null } };
  });
  client = new Rubric({ apiKey: "rk_test_unit", baseUrl: api.url });
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
});

test("for await walks every page transparently", async () => {
  const seen = [];
  for await (const wh of client.webhooks.list()) seen.push(wh.id);
  assert.deepEqual(seen, ALL.map((w) => w.id));
  assert.deepEqual(
    api.requests.map((r) => r.query),
    [{ limit: "250" }, { limit: "250", cursor: "wh_3" }, { limit: "250", cursor: "wh_6" }],
  );
});

test("limit caps the total across pages and shrinks the last page asked for", async () => {
  const items = await client.webhooks.list({ limit: 5 }).toArray();
  assert.deepEqual(items.map((w) => w.id), ["wh_1", "wh_2", "wh_3", "wh_4", "wh_5"]);
  assert.deepEqual(
    api.requests.map((r) => r.query),
    [{ limit: "5" }, { limit: "2", cursor: "wh_3" }],
  );
});

test("a limit over 250 asks for pages of 250; a cursor starts mid-list", async () => {
  const items = await client.webhooks.list({ limit: 1000, cursor: "wh_4" }).toArray();
  assert.deepEqual(items.map((w) => w.id), ["wh_5", "wh_6", "wh_7"]);
  assert.deepEqual(api.requests[0].query, { limit: "250", cursor: "wh_4" });
});

test("breaking out of the loop fetches no further page; pages() exposes cursors", async () => {
  for await (const wh of client.webhooks.list()) {
    if (wh.id === "wh_2") break;
  }
  assert.equal(api.requests.length, 1);
  const pages = [];
  for await (const page of client.webhooks.list({ limit: 4 }).pages()) pages.push(page);
  assert.deepEqual(pages.map((p) => [p.data.length, p.next_cursor]), [[3, "wh_3"], [1, "wh_4"]]);
});

test("each iteration starts again from the first page", async () => {
  const list = client.webhooks.list({ limit: 2 });
  assert.deepEqual((await list.toArray()).map((w) => w.id), ["wh_1", "wh_2"]);
  assert.deepEqual((await list.toArray()).map((w) => w.id), ["wh_1", "wh_2"]);
  assert.equal(api.requests.length, 2);
});

test("limit must be a positive integer", () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => client.webhooks.list({ limit }), RangeError);
});

test("deliveries pass their filters on every page", async () => {
  await client.webhooks.deliveries("wh_1", { status: "failed", limit: 4 }).toArray();
  assert.deepEqual(
    api.requests.map((r) => [r.path, r.query]),
    [
      ["/v1/webhooks/wh_1/deliveries", { status: "failed", limit: "4" }],
      ["/v1/webhooks/wh_1/deliveries", { status: "failed", limit: "1", cursor: "wh_3" }],
    ],
  );
});
