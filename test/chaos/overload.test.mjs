// Chaos (e), issue 16 part 5: overload is graceful. On one account whose every
// event fans out to 10 webhooks at a receiver that answers 200, the test
// measures what ingest takes (after a 1 s warm-up, a closed loop of 16 clients
// for 5 s: C accepted events/s), then offers twice that, open-loop on a
// drift-corrected schedule (bench/load.mjs), for 5 s, with a fan-out burst
// (3 batches of 100 events at once: 3 000 deliveries) in the middle of it.
// Past capacity the service may shed load, but only as the README says: every
// ingest answer is 202, or 429/503 with `Retry-After` and the one error body;
// no 500, no connection failure or timeout, no runtime restart (in the
// service's output, or the workerd processes changing). Every event answered
// 202 reaches all 10 webhooks once the backlog drains (DRAIN_MS: ingest accepts
// faster than 10 webhooks can be sent to, so tens of thousands of deliveries
// wait; the 60 s recovery bound is about restarts, not about draining that), and
// no delivery (one `webhook-id` at one webhook URL) is answered 2xx twice.
// wrangler's dev proxy (not in production) answers a POST whose hop to the
// Worker's runtime failed with its own 503 "Your worker restarted mid-request"
// (Retry-After: 0, a text body) whether or not the runtime restarted, or resets
// the connection; the runtime's processes are checked to be the same, and such
// proxy answers may be at most PROXY_ARTEFACTS_MAX of all (they are reported).
// Knobs: OVERLOAD_LOG=<file> keeps the runtime's output for a look afterwards;
// OVERLOAD_CLIENTS=N measures the capacity with N clients.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, test } from "node:test";
import { closedLoop, keepAliveAgent, now, openLoop, parseJson, request, summarize } from "../../bench/load.mjs";
import { eventBody } from "../../bench/scenarios.mjs";
import { apiClient, devVar, useRestartableService, waitFor } from "../e2e/support/service.mjs";
import { audit, isSuccess } from "./support/ledger.mjs";

const FAN_OUT = 10;
/**
 * The capacity measurement: a closed loop of POST /v1/events after a short warm-up (not counted:
 * the first requests also start the endpoints' objects and the queue consumer).
 */
const CAPACITY = { concurrency: Number(process.env.OVERLOAD_CLIENTS) || 16, durationMs: 5_000, warmUpMs: 1_000 };
/** The overload: this many times the measured capacity, open loop, for this long. */
const OVERLOAD = { factor: 2, durationMs: 5_000 };
/** The fan-out burst during the overload: `batches` POST /v1/events/batch of `size` events at once, `atMs` into it. */
const BURST = { atMs: 2_000, batches: 3, size: 100 };
/** Every event answered 202 reaches every webhook within this of the last ingest answer (about 2 × what the backlog takes here). */
const DRAIN_MS = 150_000;
/** wrangler dev's proxy answers (see above): at most this share of all answers. */
const PROXY_ARTEFACTS_MAX = 0.01;
const PROXY_ARTEFACT = /restarted mid-request|ECONNRESET|socket hang up/;
/** Per request: what the TypeScript SDK waits for an answer (its default `timeoutMs`); longer counts as a timeout. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Ingest statuses allowed under overload, and the error code each refusal carries (src/lib/errors.ts). */
const REFUSALS = new Map([
  [429, "rate_limited"],
  [503, "unavailable"],
]);
/** Signs of a runtime restart or an uncaught error, in the service's output (and, counted apart, in answers). */
const RESTART_SIGNS = /restarted mid-request|Uncaught/i;
const WORKERD = /workerd serve/;

// OVERLOAD_LOG=<file>: registered first, so it runs before the service is stopped.
after(() => {
  if (process.env.OVERLOAD_LOG && run.service) writeFileSync(process.env.OVERLOAD_LOG, run.service.output());
});
const run = useRestartableService();

/** What is wrong with one ingest answer, or null: a 202 with an id, or a refusal the README allows. */
function problemWith(r) {
  if (r.status === 0) return `no answer: ${r.error?.message ?? "connection failed"}`;
  if (r.status === 202) return r.id ? null : `202 without an event id: ${r.text.slice(0, 200)}`;
  const code = REFUSALS.get(r.status);
  if (!code) return `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
  const retryAfter = r.headers["retry-after"];
  if (!/^[1-9]\d*$/.test(retryAfter ?? "")) return `HTTP ${r.status} with Retry-After ${JSON.stringify(retryAfter)}: ${r.text.slice(0, 200)}`;
  const { error, ...rest } = parseJson(r.text) ?? {};
  const shaped =
    error?.code === code &&
    typeof error.message === "string" &&
    typeof error.request_id === "string" &&
    error.request_id === r.headers["x-request-id"] &&
    Object.keys(rest).length === 0 &&
    Object.keys(error).every((k) => ["code", "message", "details", "request_id"].includes(k));
  return shaped ? null : `HTTP ${r.status} without the error body {"error": {"code": "${code}", …}}: ${r.text.slice(0, 200)}`;
}

/**
 * The workerd processes of the service now, as "pid started": wrangler dev runs two (its proxy on
 * the service's port, and the Worker's runtime); a runtime wrangler restarted is a new process.
 */
const workerdOf = (service) =>
  service
    .processes()
    .filter((p) => WORKERD.test(p.args))
    .map((p) => `${p.pid} ${p.started}`)
    .sort();

test("2× the measured ingest capacity, fan-out 10: only 202/429/503, no restart, every 202 delivered to all 10, no second success", { timeout: 180_000 }, async (t) => {
  const { baseUrl } = run.service;
  const admin = apiClient(baseUrl, devVar("ADMIN_TOKEN"));
  const account = await admin("POST", "/v1/accounts", { name: "overload", mode: "test" });
  assert.equal(account.status, 201, account.text);
  const api = apiClient(baseUrl, account.json.api_key);
  const hooks = [];
  for (let i = 0; i < FAN_OUT; i++) {
    const name = `overload-${i}`;
    const res = await api("POST", "/v1/webhooks", { name, url: `${run.receiver.url}/hooks/${name}`, events: ["evaluation.completed"] });
    assert.equal(res.status, 201, `${name}: ${res.text}`);
    hooks.push({ name, id: res.json.id });
  }
  const workerdBefore = workerdOf(run.service);
  assert.ok(workerdBefore.length > 0, "the service has a workerd process");

  // Every ingest answer, by phase; the ids of the events answered 202.
  /** @type {Array<{phase: string, status: number, text: string, headers: Record<string, any>, ms: number, error?: Error, id?: string}>} */
  const answers = [];
  const accepted = [];
  const headers = { authorization: `Bearer ${account.json.api_key}` };
  // Enough sockets that no open-loop request waits for one (coordinated omission).
  const agent = keepAliveAgent(2048);
  let seq = 0;
  const ingest = async (phase) => {
    const r = await request(`${baseUrl}/v1/events`, { method: "POST", headers, body: eventBody(seq++), agent, timeoutMs: REQUEST_TIMEOUT_MS });
    const id = r.status === 202 ? parseJson(r.text)?.id : undefined;
    if (id) accepted.push(id);
    answers.push({ phase, ...r, id });
    return r;
  };
  const batch = async () => {
    const events = Array.from({ length: BURST.size }, () => eventBody(seq++));
    const r = await request(`${baseUrl}/v1/events/batch`, { method: "POST", headers, body: { events }, agent, timeoutMs: REQUEST_TIMEOUT_MS });
    const ids = r.status === 202 ? (parseJson(r.text)?.data ?? []).map((d) => d.id) : [];
    accepted.push(...ids);
    answers.push({ phase: "burst", ...r, id: ids.length === BURST.size ? ids[0] : undefined });
  };

  // 1. Capacity: what ingest accepts, closed loop, with the fan-out running behind it.
  const t0 = now();
  await closedLoop({ concurrency: CAPACITY.concurrency, durationMs: CAPACITY.warmUpMs, send: () => ingest("warm-up") });
  const measured = await closedLoop({ concurrency: CAPACITY.concurrency, durationMs: CAPACITY.durationMs, send: () => ingest("capacity") });
  const capacity = measured.results.filter((r) => r.status === 202).length / (measured.elapsedMs / 1000);
  assert.ok(capacity > 0, `the closed loop got no event accepted: ${JSON.stringify(summarizeStatuses(answers))}`);
  const offered = Math.round(OVERLOAD.factor * capacity);
  t.diagnostic(`capacity: ${capacity.toFixed(0)} events/s (${CAPACITY.concurrency} clients, ${(measured.elapsedMs / 1000).toFixed(1)} s); offering ${offered}/s for ${OVERLOAD.durationMs / 1000} s`);

  // 2. Twice that, open loop, and the fan-out burst in the middle of it.
  let burst = Promise.resolve();
  const burstTimer = setTimeout(() => (burst = Promise.all(Array.from({ length: BURST.batches }, batch))), BURST.atMs);
  const load = await openLoop({ ratePerSec: offered, durationMs: OVERLOAD.durationMs, send: () => ingest("overload") });
  clearTimeout(burstTimer);
  await burst;
  const loadEnded = Date.now();
  agent.destroy();
  const byPhase = Object.fromEntries(["warm-up", "capacity", "overload", "burst"].map((p) => [p, summarizeStatuses(answers.filter((a) => a.phase === p))]));
  const overload202 = answers.filter((a) => a.phase === "overload" && a.status === 202);
  t.diagnostic(`answers: ${JSON.stringify(byPhase)}; overload 202 latency ${JSON.stringify(summarize(overload202.map((a) => a.ms)))} ms`);
  t.diagnostic(`open loop: ${load.scheduled} scheduled over ${(load.sentMs / 1000).toFixed(1)} s, ${load.missed} sent more than one interval late (max lag ${load.maxLagMs.toFixed(0)} ms)`);

  // 3. Every accepted event at every webhook, within the bound after the load stopped.
  const receipts = (name) => {
    const stats = run.receiver.stats(name);
    return run.receiver.received(name).flatMap((r, i) => (isSuccess(r, stats[i]) ? [{ eventId: r.headers["webhook-id"], deliveryId: r.headers["webhook-id"], at: r.received_at }] : []));
  };
  const audits = () => hooks.map((h) => ({ name: h.name, ...audit(accepted, receipts(h.name)) }));
  const arrival = await waitFor(() => audits().every((a) => a.lost.length === 0), { timeout: Math.max(0, loadEnded + DRAIN_MS - Date.now()), interval: 250, what: "every accepted event at all 10 webhooks" }).then(
    () => null,
    (err) => err,
  );
  const drainedS = (Date.now() - loadEnded) / 1000;
  const results = audits();
  const owed = accepted.length * FAN_OUT;
  const delivered = results.reduce((n, a) => n + a.delivered, 0);
  const secondSuccesses = results.reduce((n, a) => n + a.duplicates, 0);
  const unexpected = results.reduce((n, a) => n + a.unexpected.length, 0);
  const counts = summarizeStatuses(answers);
  const problems = answers.map((a) => ({ a, problem: problemWith(a) })).filter((x) => x.problem);
  const proxyRestarts = answers.filter((a) => RESTART_SIGNS.test(a.text)).length;
  const output = run.service.output();
  const restartLines = output.split("\n").filter((l) => RESTART_SIGNS.test(l));
  const workerdAfter = workerdOf(run.service);

  const others = Object.entries(counts).filter(([status]) => !["202", "429", "503"].includes(status));
  console.log(
    `overload: capacity ${capacity.toFixed(0)}/s, offered ${offered}/s, 202 ${counts[202] ?? 0}, 429 ${counts[429] ?? 0}, 503 ${counts[503] ?? 0}` +
      (proxyRestarts ? ` (${proxyRestarts} of them wrangler's "restarted mid-request")` : "") +
      (others.length ? `, other ${others.map(([status, n]) => `${status === "0" ? "no answer" : status} ${n}`).join(", ")}` : "") +
      `, delivered ${delivered}/${owed} ${arrival ? "by" : "in"} ${drainedS.toFixed(1)} s after the load, ${secondSuccesses} second successes`,
  );
  // Bad answers by kind: how many, and when they were sent (seconds from the warm-up's start).
  const kinds = new Map();
  for (const { a, problem } of problems) {
    const key = `${a.phase}: ${problem}`;
    const sent = (a.t0 - t0) / 1000;
    const k = kinds.get(key) ?? kinds.set(key, { n: 0, first: sent, last: sent, maxMs: 0 }).get(key);
    k.n += 1;
    k.first = Math.min(k.first, sent);
    k.last = Math.max(k.last, sent);
    k.maxMs = Math.max(k.maxMs, a.ms);
  }
  for (const [key, k] of [...kinds].slice(0, 10)) t.diagnostic(`BAD ANSWERS × ${k.n} (sent +${k.first.toFixed(1)}…+${k.last.toFixed(1)} s, answered within ${k.maxMs.toFixed(0)} ms) ${key}`);
  for (const a of results) {
    if (a.lost.length) t.diagnostic(`NOT DELIVERED to ${a.name}: ${a.lost.length} of ${accepted.length} (${a.lost.slice(0, 3).join(", ")}…)`);
    for (const r of a.repeats.slice(0, 3)) t.diagnostic(`SECOND SUCCESS at ${a.name}: ${r.eventId} answered 2xx at +${r.firstAt - loadEnded} and +${r.at - loadEnded} ms (from the load's end)`);
  }
  // The service's own account of a few events still owed.
  for (const id of [...new Set(results.flatMap((a) => a.lost))].slice(0, 3)) {
    const res = await api("GET", `/v1/events/${id}`).catch((err) => ({ status: 0, json: null, text: err.message }));
    const state = res.status === 200 ? `status ${res.json.status}, ${res.json.deliveries.length} deliveries recorded (${[...new Set(res.json.deliveries.map((d) => d.status))].join(", ") || "none"})` : `HTTP ${res.status} ${res.text.slice(0, 100)}`;
    t.diagnostic(`still owed: ${id}: ${state}`);
  }
  if (unexpected) t.diagnostic(`${unexpected} successful receipt(s) of events never answered 202 (stored, but the answer was a refusal or lost)`);
  for (const line of restartLines.slice(0, 10)) t.diagnostic(`LOG: ${line.slice(0, 300)}`);
  if (workerdAfter.join() !== workerdBefore.join()) t.diagnostic(`workerd processes before: ${workerdBefore.join(", ")}; after: ${workerdAfter.join(", ") || "none"}`);
  if (problems.length || restartLines.length || arrival) {
    // The runtime's own lines since it started answering (not wrangler's line per request).
    const own = output
      .slice(Math.max(0, output.indexOf("RUBRIC_API_KEY=")))
      .split("\n")
      .filter((l) => l.trim() && !/^\[wrangler:info\] (POST|GET|QUEUE) /.test(l));
    t.diagnostic(`--- service output without request lines (last 30 of ${own.length}) ---`);
    for (const line of own.slice(-30)) t.diagnostic(line.slice(0, 300));
  }

  const artefacts = problems.filter((x) => PROXY_ARTEFACT.test(x.problem));
  const service = problems.filter((x) => !PROXY_ARTEFACT.test(x.problem));
  if (artefacts.length) t.diagnostic(`wrangler dev proxy answers (not the service's): ${artefacts.length} of ${answers.length}`);
  assert.deepEqual(
    service.slice(0, 10).map((x) => x.problem),
    [],
    `${service.length} of ${answers.length} ingest answers were not a 202 or a 429/503 with Retry-After and the error body`,
  );
  assert.ok(artefacts.length <= PROXY_ARTEFACTS_MAX * answers.length, `${artefacts.length} of ${answers.length} answers came from wrangler dev's proxy, not the service`);
  assert.deepEqual(restartLines.slice(0, 10), [], "no runtime restart and no uncaught error in the service's output");
  assert.deepEqual(workerdAfter, workerdBefore, "the same workerd process ran throughout");
  assert.equal(secondSuccesses, 0, "no delivery (webhook-id at one webhook URL) is answered 2xx twice");
  assert.equal(delivered, owed, `every event answered 202 reaches all ${FAN_OUT} webhooks within ${DRAIN_MS / 1000} s of the load's end`);
});

/** {status: count} of some answers (0: no answer). */
function summarizeStatuses(answers) {
  const out = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
}
