// The chaos suite's definitions of lost, duplicate and out of order, checked on
// hand-made receiver records (no service needed), so that the counts the suite
// prints mean what its comments say.
import assert from "node:assert/strict";
import { test } from "node:test";
import { audit, sendOrderIsIdOrder, successfulReceipts, summarize } from "./support/ledger.mjs";

const rec = (event, answered = 200) => ({ headers: { "x-rubric-event-id": event, "x-rubric-delivery-id": `dlv_${event}` }, answered, received_at: 0 });
const done = { finished: true };
const dropped = { finished: false };

test("only 2xx answers written in full are successful receipts", () => {
  const records = [rec("evt_1", 503), rec("evt_1", 200), rec("evt_2", 200), rec("evt_3", 204)];
  const got = successfulReceipts(records, [done, dropped, done, done]);
  assert.deepEqual(got.map((r) => r.eventId), ["evt_2", "evt_3"]);
});

test("lost, duplicates and unexpected receipts", () => {
  const receipts = successfulReceipts([rec("evt_1"), rec("evt_1"), rec("evt_2"), rec("evt_9")], [done, done, done, done]);
  const a = audit(["evt_1", "evt_2", "evt_3"], receipts);
  assert.deepEqual(a.lost, ["evt_3"]);
  assert.equal(a.duplicates, 1);
  assert.deepEqual(a.repeats.map((r) => r.eventId), ["evt_1"]);
  assert.deepEqual(a.unexpected, ["evt_9"]);
  assert.equal(a.delivered, 2);
  assert.deepEqual(a.outOfOrder, []);
});

test("an event received first after a later one is out of order; a duplicate of an earlier one is not", () => {
  const receipts = successfulReceipts([rec("evt_1"), rec("evt_3"), rec("evt_1"), rec("evt_2"), rec("evt_4")], [done, done, done, done, done]);
  const a = audit(["evt_1", "evt_2", "evt_3", "evt_4"], receipts);
  assert.deepEqual(a.outOfOrder.map((o) => [o.eventId, o.overtakenBy]), [["evt_2", "evt_3"]]);
  assert.equal(a.duplicates, 1);
  assert.deepEqual(a.firstOrder, ["evt_1", "evt_3", "evt_2", "evt_4"]);
});

test("the summary line adds up every endpoint", () => {
  const a = audit(["evt_1", "evt_2"], successfulReceipts([rec("evt_2"), rec("evt_1"), rec("evt_1")], [done, done, done]));
  const b = audit(["evt_5"], []);
  assert.equal(summarize([a, b]).line, "chaos: 2 delivered, 1 lost, 1 duplicates, 1 out of order");
});

test("send order must be id order for the FIFO check to mean anything", () => {
  assert.equal(sendOrderIsIdOrder(["evt_1", "evt_2", "evt_3"]), true);
  assert.equal(sendOrderIsIdOrder(["evt_1", "evt_3", "evt_2"]), false);
});
