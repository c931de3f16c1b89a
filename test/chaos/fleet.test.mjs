// Chaos (a): 1 000 events to 20 FIFO endpoints whose receivers fail 20 % of
// attempts at random (5xx/429, dropped connections, slow answers), while the
// whole runtime is killed with kill -9 and restarted three times. Every
// accepted event must end delivered and recorded `succeeded`, none lost, none
// out of order; duplicates (at least once) are counted and reported.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { plan, useRestartableService, waitFor } from "../e2e/support/service.mjs";
import { sendBatch, sendOne } from "./support/ingest.mjs";
import { audit, sendOrderIsIdOrder, successfulReceipts, summarize } from "./support/ledger.mjs";
import { delivery, notSucceeded } from "./support/api.mjs";

const ARGS = ["--var", "SWEEP_AFTER_SECONDS:2", "--var", "SWEEP_INTERVAL_SECONDS:1"];
const ENDPOINTS = 20;
const PER_ENDPOINT = 50;
const TOTAL = ENDPOINTS * PER_ENDPOINT;
/** Each cycle of 100 events goes out as one batch of 80, then 20 single POSTs. */
const CYCLE = 100;
const BATCH = 80;
/** kill -9 once this many events were accepted: early, in the middle, and right after the last one. */
const KILL_AT = [300, 650, TOTAL];
/** Fixed 300 ms (±20 %) between attempts; the receivers never fail a delivery more than 3 times in a row. */
const RETRY = { max_retries: 8, backoff: "fixed", initial_delay_ms: 300 };

/** How endpoint i's receiver misbehaves: 20 % random failures, in four flavours. */
function planFor(i) {
  const base = { fail_rate: 0.2, fail_seed: 1000 + i, fail_cap: 3 };
  if (i < 14) return { ...base, fail_status: [500, 503, 429, 502][i % 4] };
  if (i < 17) return { ...base, fail_close: true }; // a 200 whose connection drops mid-body
  return { ...base, fail_status: 503, delay_ms: 150 }; // slow, and sometimes failing too
}

/** What the outbox sweeper re-enqueued during one runtime's life (its log lines), e.g. [80, 20]. */
const sweeps = (svc) => [...svc.output().matchAll(/outbox sweeper re-enqueued (\d+)/g)].map((m) => Number(m[1]));

const name = (i) => `fleet-${String(i).padStart(2, "0")}`;
const project = (i) => `chaos-${i}`;

/** Aborted when the test ends, so no send or restart outlives it. */
const halt = new AbortController();
/** The kill/restart loop, awaited before the last service is stopped. */
let chaosDone = Promise.resolve();

// Registered before the service's own hooks, so it runs before the service is stopped.
after(async () => {
  halt.abort();
  await chaosDone.catch(() => {});
});
const run = useRestartableService({ args: ARGS });

test("1 000 events, 20 endpoints, 20 % transient failures, 3 × kill -9: every accepted event delivered, in order", { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const target = { baseUrl: run.service.baseUrl, apiKey: run.service.apiKey, signal: halt.signal };
  const hooks = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    await plan(run.receiver, name(i), planFor(i));
    const res = await run.service.api("POST", "/v1/webhooks", {
      name: name(i),
      url: `${run.receiver.url}/hooks/${name(i)}`,
      events: ["evaluation.completed"],
      filters: { projects: [project(i)] },
      retry_config: RETRY,
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.ordering ?? "fifo", "fifo");
    hooks.push(res.json);
  }

  // Item k goes to endpoint k % 20 as its (k / 20)-th event: per endpoint, one after another.
  const items = Array.from({ length: TOTAL }, (_, k) => ({ k, key: `chaos-${k}`, endpoint: k % ENDPOINTS, project: project(k % ENDPOINTS), seq: Math.floor(k / ENDPOINTS) }));
  const accepted = Array.from({ length: ENDPOINTS }, () => []);
  const acceptedAt = new Map();
  let acceptedCount = 0;
  let replayed = 0;
  let retriedRequests = 0;
  const timeline = [];

  // The chaos: kill -9 of start.mjs, wrangler and workerd, then a restart on the same state and port.
  const chaos = (async () => {
    for (const at of KILL_AT) {
      const reached = () => {
        if (halt.signal.aborted) throw Object.assign(new Error("the test is over"), { fatal: true });
        return acceptedCount >= at;
      };
      await waitFor(reached, { timeout: 240_000, interval: 10, what: `${at} accepted events` });
      const swept = sweeps(run.service);
      const { killedAt, upAt } = await run.restart();
      timeline.push({ acceptedAtKill: acceptedCount, killedAt: killedAt - started, sweptBefore: swept, upAt: upAt - started, downMs: upAt - killedAt });
      assert.equal(run.service.apiKey, target.apiKey, "a restart keeps the development key");
    }
  })();

  const sending = (async () => {
    for (let c = 0; c < TOTAL; c += CYCLE) {
      const cycle = items.slice(c, c + CYCLE);
      const requests = [{ items: cycle.slice(0, BATCH), send: sendBatch }, ...cycle.slice(BATCH).map((it) => ({ items: [it], send: (tg, [one]) => sendOne(tg, one) }))];
      for (const r of requests) {
        const result = await r.send(target, r.items);
        replayed += result.replayed;
        if (result.tries > 1) retriedRequests += 1;
        r.items.forEach((it, j) => {
          accepted[it.endpoint].push(result.ids[j]);
          acceptedAt.set(result.ids[j], Date.now() - started);
        });
        acceptedCount += r.items.length;
      }
    }
  })();
  chaosDone = chaos;
  // A failed send ends the chaos too (after() waits for a restart in progress before stopping the service).
  await Promise.all([sending.catch((err) => (halt.abort(), Promise.reject(err))), chaos]).catch((err) => {
    const soFar = summarize(accepted.map((ids, i) => audit(ids, successfulReceipts(run.receiver.received(name(i)), run.receiver.stats(name(i))))));
    err.message += `\nwhile sending: ${acceptedCount} accepted; so far ${soFar.line}\nkills: ${JSON.stringify(timeline)}\n--- service output (tail) ---\n${run.service.output().slice(-4000)}`;
    throw err;
  });
  const sentAt = Date.now() - started;
  t.diagnostic(`sent ${acceptedCount} events in ${sentAt} ms; ${retriedRequests} request(s) repeated across a kill, ${replayed} event(s) answered as replays`);
  for (const k of timeline) {
    t.diagnostic(`kill -9 at +${k.killedAt} ms (${k.acceptedAtKill} accepted; sweeper re-enqueues before it: ${k.sweptBefore.join(", ") || "none"}), up again at +${k.upAt} ms (${k.downMs} ms down)`);
  }

  const audits = () => accepted.map((ids, i) => audit(ids, successfulReceipts(run.receiver.received(name(i)), run.receiver.stats(name(i)))));
  // Wait (bounded) for every accepted event to arrive; whatever the outcome, print the summary before judging.
  const arrival = await waitFor(() => audits().every((a) => a.lost.length === 0), {
    timeout: 150_000,
    interval: 500,
    what: "every accepted event to be received successfully",
  }).then(
    () => null,
    (err) => err,
  );
  const deliveredAt = Date.now() - started;
  const results = audits();
  const summary = summarize(results);
  console.log(summary.line);
  const attempts = results.map((_, i) => run.receiver.received(name(i)).length).reduce((a, b) => a + b, 0);
  t.diagnostic(`${arrival ? "gave up" : "all received"} at +${deliveredAt} ms; ${attempts} requests reached the receivers for ${TOTAL} deliveries`);
  results.forEach((a, i) => {
    for (const id of a.lost) t.diagnostic(`LOST ${name(i)}: ${id} (accepted +${acceptedAt.get(id)} ms)`);
    for (const o of a.outOfOrder) {
      t.diagnostic(`OUT OF ORDER ${name(i)}: ${o.eventId} (accepted +${acceptedAt.get(o.eventId)} ms) first received at +${o.at - started} ms, after ${o.overtakenBy} (accepted +${acceptedAt.get(o.overtakenBy)} ms)`);
    }
    if (a.duplicates) t.diagnostic(`${name(i)}: ${a.duplicates} duplicate(s) (first receipt → repeat, ms): ${a.repeats.map((r) => `+${r.firstAt - started}→+${r.at - started}`).join(", ")}`);
  });
  // At least once allows duplicates after a crash mid-attempt; one whose two receipts have no kill between them is worth a look.
  const repeats = results.flatMap((a) => a.repeats);
  const spansKill = (r) => timeline.some((k) => r.firstAt - started <= k.killedAt && r.at - started >= k.killedAt);
  t.diagnostic(`duplicates: ${repeats.filter(spansKill).length} with a kill -9 between the two receipts, ${repeats.filter((r) => !spansKill(r)).length} without`);
  // For the first few duplicates with no kill between, the service's own account of the delivery.
  for (const r of repeats.filter((x) => !spansKill(x)).slice(0, 5)) {
    const log = await delivery(run.service, r.deliveryId).then(
      (d) => d.attempt_log.map((a) => `#${a.attempt} ${a.trigger} ${a.response_code ?? a.error}`).join(", "),
      (err) => err.message,
    );
    t.diagnostic(`duplicate without a kill: ${r.deliveryId} received +${r.firstAt - started} and +${r.at - started} ms; attempt log: ${log}`);
  }
  if (arrival) t.diagnostic(`kills: ${JSON.stringify(timeline)}\n--- service output (tail) ---\n${run.service.output().slice(-3000)}`);

  accepted.forEach((ids, i) => assert.ok(sendOrderIsIdOrder(ids), `${name(i)}: events sent one after another have increasing ids`));
  assert.equal(acceptedCount, TOTAL);
  assert.equal(new Set(accepted.flat()).size, TOTAL, "no two accepted items share an event id");
  assert.equal(summary.unexpected, 0, "no event reached a receiver that the API did not accept (nothing double-created)");
  assert.equal(summary.lost, 0, "no accepted event is lost");
  assert.equal(summary.outOfOrder, 0, "FIFO: no event is first received after a later one");
  assert.equal(summary.delivered, TOTAL);

  // The API agrees: every accepted event's delivery to its endpoint is `succeeded`.
  const hookIds = hooks.map((h) => h.id);
  await waitFor(async () => (await notSucceeded(run.service, hookIds, accepted)).length === 0, {
    timeout: 30_000,
    interval: 500,
    what: "every delivery to be recorded succeeded",
  }).catch(async (err) => {
    const missing = await notSucceeded(run.service, hookIds, accepted);
    const notes = missing.slice(0, 40).map(({ index, eventId, delivery: d }) => {
      const got = run.receiver.received(name(index)).filter((r) => r.headers["x-rubric-event-id"] === eventId);
      const api = d ? `${d.status} after ${d.attempts} attempt(s)` : "no delivery";
      return `${name(index)} ${eventId} accepted +${acceptedAt.get(eventId)} ms: API ${api}; receiver: ${got.map((r) => `${r.answered}@+${r.received_at - started}`).join(" ")}`;
    });
    err.message += `\n${missing.length} not recorded succeeded:\n${notes.join("\n")}\nkills: ${JSON.stringify(timeline)}`;
    throw err;
  });
  t.diagnostic(`all recorded succeeded by +${Date.now() - started} ms; sweeper re-enqueues since the last restart: ${sweeps(run.service).join(", ") || "none"}`);
});
