// FIFO across kill -9: events accepted just before the kill (their queue
// messages die with the runtime, so only the outbox sweeper brings them back)
// must not be overtaken by events for the same endpoint accepted right after
// the restart, which go through the queue at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useRestartableService, waitFor } from "../e2e/support/service.mjs";
import { sendBatch } from "./support/ingest.mjs";
import { audit, successfulReceipts } from "./support/ledger.mjs";

// The sweeper looks for events pending longer than 10 s (production: 30 s), longer than a restart
// takes here (3–8 s): so the late events are accepted while the early ones are not yet due for the
// sweeper, which is what a fast restart in production looks like.
const ARGS = ["--var", "SWEEP_AFTER_SECONDS:10", "--var", "SWEEP_INTERVAL_SECONDS:1"];
const CYCLES = 2;
const BEFORE = 60;
const AFTER = 20;

const run = useRestartableService({ args: ARGS });

test("events pending at kill -9 are delivered before events accepted after the restart", { timeout: 180_000 }, async (t) => {
  const res = await run.service.api("POST", "/v1/webhooks", {
    name: "order",
    url: `${run.receiver.url}/hooks/order`,
    events: ["evaluation.completed"],
    filters: { projects: ["order"] },
  });
  assert.equal(res.status, 201, res.text);
  const target = { baseUrl: run.service.baseUrl, apiKey: run.service.apiKey };
  const items = (cycle, from, n) => Array.from({ length: n }, (_, i) => ({ key: `order-${cycle}-${from + i}`, project: "order", seq: from + i }));
  const accepted = [];
  let pendingWhenOvertakable = 0;

  const started = Date.now();
  const at = (ms) => `+${ms - started} ms`;
  const cycles = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const early = await sendBatch(target, items(cycle, 0, BEFORE));
    const earlyAt = Date.now();
    const killedAt = await run.kill();
    const reached = new Set(successfulReceipts(run.receiver.received("order"), run.receiver.stats("order")).map((r) => r.eventId));
    const unreached = early.ids.filter((id) => !reached.has(id)).length;
    await run.start();
    const restartedAt = Date.now();
    const late = await sendBatch(target, items(cycle, BEFORE, AFTER));
    const lateAt = Date.now();
    // Were the early events still waiting for the sweeper when the late ones were accepted?
    const last = await run.service.api("GET", `/v1/events/${early.ids.at(-1)}`);
    if (last.json?.status === "pending") pendingWhenOvertakable += 1;
    accepted.push(...early.ids, ...late.ids);
    await waitFor(() => audit(accepted, successfulReceipts(run.receiver.received("order"), run.receiver.stats("order"))).lost.length === 0, {
      timeout: 60_000,
      interval: 200,
      what: `cycle ${cycle}'s events at the receiver`,
    });
    const swept = [...run.service.output().matchAll(/outbox sweeper re-enqueued (\d+)/g)].map((m) => Number(m[1]));
    const firstAt = new Map();
    for (const r of successfulReceipts(run.receiver.received("order"), run.receiver.stats("order"))) if (!firstAt.has(r.eventId)) firstAt.set(r.eventId, r.at);
    const span = (ids) => `${at(Math.min(...ids.map((id) => firstAt.get(id))))}…${at(Math.max(...ids.map((id) => firstAt.get(id))))}`;
    cycles.push(
      `cycle ${cycle}: ${BEFORE} early events ${early.ids[0]}…${early.ids.at(-1)} accepted ${at(earlyAt)}; kill -9 ${at(killedAt)} ` +
        `(${unreached}/${BEFORE} not yet received); up ${at(restartedAt)}; ${AFTER} late events ${late.ids[0]}…${late.ids.at(-1)} accepted ${at(lateAt)} ` +
        `(last early event then: ${last.json?.status}); late first received ${span(late.ids)}, early first received ${span(early.ids)}; ` +
        `sweeper re-enqueues: ${swept.join(", ") || "none logged"}`,
    );
  }
  for (const line of cycles) t.diagnostic(line);

  const result = audit(accepted, successfulReceipts(run.receiver.received("order"), run.receiver.stats("order")));
  const shown = result.outOfOrder.slice(0, 3).map((o) => `${o.eventId} after ${o.overtakenBy}`);
  if (shown.length) t.diagnostic(`OUT OF ORDER, e.g.: ${shown.join("; ")}`);
  t.diagnostic(`${result.delivered} delivered, ${result.lost.length} lost, ${result.duplicates} duplicates, ${result.outOfOrder.length} out of order`);
  assert.deepEqual(result.lost, []);
  assert.deepEqual(result.outOfOrder, [], "no early event is first received after a late one");
  t.diagnostic(`${pendingWhenOvertakable}/${CYCLES} cycle(s) had early events still pending when the late batch was accepted`);
});
