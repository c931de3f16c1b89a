// The measured phases: request ceiling, Durable Object fetch ceiling, ingest
// latency (single and batch), end-to-end delivery at several fan-outs, and the
// /metrics scrapes that price them. Each takes a `ctx` built by run.mjs.
import { billingCounters, costBetween, parseProm } from "./cost.mjs";
import { closedLoop, keepAliveAgent, now, openLoop, parseJson, request, sleep, summarize } from "./load.mjs";

/**
 * @typedef {object} Ctx
 * @property {string} baseUrl
 * @property {string} adminToken
 * @property {Awaited<ReturnType<typeof import("./receiver.mjs").startReceiver>>} receiver
 * @property {(msg: string) => void} log
 * @property {() => number} remainingMs  time left in the run's overall budget
 * @property {number} requestTimeoutMs  per request under load: a stalled service (it reloads when
 *   src/ changes) must not stretch a phase far past its length
 */

/** The agent for set-up calls (accounts, webhooks, metrics): a few kept-alive sockets. */
const setupAgent = keepAliveAgent(16);

/** A small, realistic evaluation.completed payload (project "bench"). */
export function eventBody(i) {
  return {
    type: "evaluation.completed",
    data: {
      evaluation_id: `eval_bench_${i}`,
      project_id: "bench",
      name: "Bench evaluation",
      status: "completed",
      summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95, samples_for_review: 23 },
      completed_at: new Date().toISOString(),
    },
    metadata: { model_version: "triage-v2.4", dataset: "ds_bench" },
  };
}

/**
 * POST/GET against the service with a bearer token; throws on a status not in `ok`.
 * @param {Ctx} ctx
 * @param {string} method
 * @param {string} path
 * @param {{token?: string, body?: unknown, ok?: number[], timeoutMs?: number}} [opts]
 */
async function call(ctx, method, path, { token, body, ok = [200, 201, 202], timeoutMs = 30_000 } = {}) {
  const res = await request(`${ctx.baseUrl}${path}`, {
    method,
    body,
    agent: setupAgent,
    timeoutMs,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!ok.includes(res.status)) {
    throw new Error(`${method} ${path} answered ${res.status || res.error?.message}: ${res.text.slice(0, 300)}`);
  }
  return { ...res, json: parseJson(res.text) };
}

/** A fresh test-mode account; returns its API key. */
export async function createAccount(ctx, name) {
  const res = await call(ctx, "POST", "/v1/accounts", { token: ctx.adminToken, body: { name, mode: "test" }, ok: [201] });
  return /** @type {string} */ (res.json.api_key);
}

/** `count` webhooks for evaluation.completed at <receiver>/hooks/<prefix>-<i>; returns their paths. */
export async function createWebhooks(ctx, apiKey, prefix, count) {
  const paths = Array.from({ length: count }, (_, i) => `/hooks/${prefix}-${i}`);
  // Sixteen at a time: fast, without turning set-up into a load test of its own.
  for (let i = 0; i < paths.length; i += 16) {
    await Promise.all(
      paths.slice(i, i + 16).map((p) =>
        call(ctx, "POST", "/v1/webhooks", {
          token: apiKey,
          body: { name: `bench ${p}`, url: `${ctx.receiver.url}${p}`, events: ["evaluation.completed"] },
          ok: [201],
        }),
      ),
    );
  }
  return paths;
}

/**
 * The billing counters from /metrics: {counters, problem}. `counters` is null when
 * the route is absent (404, it is being built) or did not answer; `problem` says which.
 */
export async function scrapeMetrics(ctx) {
  const res = await request(`${ctx.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ctx.adminToken}` }, agent: setupAgent, timeoutMs: 10_000 });
  if (res.status === 200) return { counters: billingCounters(parseProm(res.text)), problem: null };
  return { counters: null, problem: res.status ? `/metrics answered HTTP ${res.status}` : `/metrics: ${res.error?.message ?? "no answer"}` };
}

/**
 * Scrapes /metrics once the counters have settled. The service counts in memory and
 * flushes to D1 every USAGE_FLUSH_SECONDS: a Durable Object on its own alarm, the
 * Worker isolate on its next request after the interval. So: wait until `flushMs`
 * (+ slack) after the last activity, poke the Worker (GET /health) so it flushes,
 * then scrape; if fewer than `expectSucceeded` new deliveries are counted, or the
 * scrape failed, poke and scrape again a few times. Without this, a scenario's counts
 * land in the next one. Each scrape itself asks every endpoint's object for its live
 * state (1 DO request per webhook), so scrapes are kept few.
 * Returns {counters, problem, scrapes, waitedMs}.
 * @param {Ctx} ctx
 * @param {{quietSince: number, flushMs: number, before?: {succeeded: number} | null,
 *   expectSucceeded?: number | (() => number), tries?: number}} opts  expectSucceeded may be a function: deliveries
 *   still arriving (a drain cut short) raise what is expected
 */
export async function settledScrape(ctx, { quietSince, flushMs, before = null, expectSucceeded = 0, tries = 4 }) {
  const start = now();
  const poke = () => request(`${ctx.baseUrl}/health`, { agent: setupAgent, timeoutMs: 10_000 });
  const waitMs = Math.min(quietSince + flushMs + 500 - now(), ctx.remainingMs() - 3_000);
  if (waitMs > 0) await sleep(waitMs);
  let scrapes = 0;
  let counters = null;
  let problem = null;
  for (let i = 0; i < tries; i++) {
    await poke();
    await sleep(300); // the flush runs in waitUntil after the poke's answer
    const res = await scrapeMetrics(ctx);
    scrapes++;
    if (res.counters) counters = res.counters;
    problem = res.problem;
    // Without an earlier scrape there is nothing to compare with (and a 404 stays a 404).
    if (!before) break;
    const expect = typeof expectSucceeded === "function" ? expectSucceeded() : expectSucceeded;
    if (res.counters && res.counters.succeeded - before.succeeded >= expect) break;
    // A failed scrape can take 20 s (two timeouts): retry only with time to spare.
    if (ctx.remainingMs() < (res.counters ? 3_000 : 25_000)) break;
    await sleep(Math.min(1_000, flushMs));
  }
  return { counters, problem: counters ? null : problem, scrapes, waitedMs: now() - start };
}

// ---------------------------------------------------------------------------
// 1. Ceilings

/**
 * (a) Closed-loop GET /health through the same wrangler dev: the most this
 * runtime can serve on this machine, the yardstick the delivery rate is held to.
 */
export async function healthCeiling(ctx, { concurrency, durationMs }) {
  const agent = keepAliveAgent(concurrency);
  const send = () => request(`${ctx.baseUrl}/health`, { agent, timeoutMs: ctx.requestTimeoutMs });
  // Warm-up (not counted): opens the connections and lets workerd JIT the route.
  await closedLoop({ concurrency, durationMs: 500, send });
  const { results, elapsedMs } = await closedLoop({ concurrency, durationMs, send });
  agent.destroy();
  const ok = results.filter((r) => r.status === 200);
  return {
    concurrency,
    duration_s: elapsedMs / 1000,
    requests: results.length,
    errors: results.length - ok.length,
    rps: ok.length / (elapsedMs / 1000),
    latency_ms: summarize(ok.map((r) => r.ms)),
  };
}

/**
 * (b) Plain fetches/s from one Durable Object to the receiver, via the operator's
 * probe route. Returns {status: "n/a"} when the route does not exist (yet).
 */
export async function doFetchCeiling(ctx, { count, concurrency }) {
  const res = await request(`${ctx.baseUrl}/v1/admin/probe/fetch`, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.adminToken}` },
    body: { url: `${ctx.receiver.url}/probe`, count, concurrency },
    timeoutMs: Math.min(60_000, Math.max(5_000, ctx.remainingMs() / 4)),
  });
  const json = parseJson(res.text);
  if (res.status === 404 || res.status === 405) return { status: "n/a", http_status: res.status, concurrency };
  if (res.status !== 200 || !json) return { status: "error", http_status: res.status, error: res.error?.message ?? res.text.slice(0, 300), concurrency };
  return { status: "ok", concurrency, ...json };
}

// ---------------------------------------------------------------------------
// 2. Ingest

/**
 * Open-loop POST /v1/events at `rate`/s for `durationMs`: the producer's view of
 * ingest latency (202 round trip) with the rest of the pipeline running behind it.
 */
export async function ingestLatency(ctx, apiKey, { rate, durationMs }) {
  // Never short of sockets: an open loop must not queue inside the client.
  const agent = keepAliveAgent(256);
  const headers = { authorization: `Bearer ${apiKey}` };
  const run = await openLoop({
    ratePerSec: rate,
    durationMs,
    send: (i) => request(`${ctx.baseUrl}/v1/events`, { method: "POST", headers, body: eventBody(i), agent, timeoutMs: ctx.requestTimeoutMs }),
  });
  agent.destroy();
  const ok = run.results.filter((r) => r.status === 202);
  const statuses = {};
  for (const r of run.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    rate,
    duration_s: durationMs / 1000,
    sent: run.results.length,
    accepted: ok.length,
    statuses,
    missed_schedule: run.missed,
    max_schedule_lag_ms: Math.round(run.maxLagMs * 10) / 10,
    latency_ms: summarize(ok.map((r) => r.ms)),
    split: ingestTimeSplit(ok),
  };
}

/**
 * A trivial `GET /health` at `rate`/s, open loop, sent alongside another load: the runtime's own
 * latency for a request that does no work at that moment. Subtracted from the ingest figures, it
 * says what the ingest path itself adds to the tail.
 */
export async function healthProbe(ctx, { rate, durationMs }) {
  const agent = keepAliveAgent(64);
  const run = await openLoop({ ratePerSec: rate, durationMs, send: () => request(`${ctx.baseUrl}/health`, { agent, timeoutMs: ctx.requestTimeoutMs }) });
  agent.destroy();
  const ok = run.results.filter((r) => r.status === 200);
  return { rate, sent: run.results.length, ok: ok.length, latency_ms: summarize(ok.map((r) => r.ms)) };
}

/** The `Server-Timing` entries of an answer (middleware/server-timing.ts): name → ms. */
function serverTiming(res) {
  const out = {};
  for (const entry of String(res.headers?.["server-timing"] ?? "").split(",")) {
    const m = /^\s*([\w-]+);dur=([\d.]+)\s*$/.exec(entry);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Where accepted ingests' time went: in the Worker (`app`), its D1 insert (`d1`), and outside the
 * Worker (client latency − app: queued in the runtime or its proxy, the network), each summarized.
 */
export function ingestTimeSplit(ok) {
  const timed = ok.map((r) => ({ ms: r.ms, ...serverTiming(r) })).filter((t) => t.app !== undefined);
  return {
    answered_with_timing: timed.length,
    app_ms: summarize(timed.map((t) => t.app)),
    d1_ms: summarize(timed.filter((t) => t.d1 !== undefined).map((t) => t.d1)),
    outside_ms: summarize(timed.map((t) => Math.max(0, t.ms - t.app))),
  };
}

/**
 * Closed-loop ingest: `concurrency` clients POST /v1/events back to back for
 * `durationMs` (what a producer with a fixed pool of connections sees).
 */
export async function ingestClosedLoop(ctx, apiKey, { concurrency, durationMs }) {
  const agent = keepAliveAgent(concurrency);
  const headers = { authorization: `Bearer ${apiKey}` };
  let i = 0;
  const run = await closedLoop({
    concurrency,
    durationMs,
    send: () => request(`${ctx.baseUrl}/v1/events`, { method: "POST", headers, body: eventBody(i++), agent, timeoutMs: ctx.requestTimeoutMs }),
  });
  agent.destroy();
  const ok = run.results.filter((r) => r.status === 202);
  const statuses = {};
  for (const r of run.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return { concurrency, duration_s: durationMs / 1000, sent: run.results.length, accepted: ok.length, statuses, events_per_s: ok.length / (run.elapsedMs / 1000), latency_ms: summarize(ok.map((r) => r.ms)), split: ingestTimeSplit(ok) };
}

/**
 * Batch ingest: open loop of POST /v1/events/batch with 100 events each. A 404
 * on the first call means the route does not exist (yet): {status: "n/a"}.
 */
export async function batchIngest(ctx, apiKey, { batchesPerSec, durationMs, size = 100 }) {
  const headers = { authorization: `Bearer ${apiKey}` };
  const body = (b) => ({ events: Array.from({ length: size }, (_, i) => eventBody(b * size + i)) });
  const first = await request(`${ctx.baseUrl}/v1/events/batch`, { method: "POST", headers, body: body(0), timeoutMs: ctx.requestTimeoutMs });
  if (first.status === 404 || first.status === 405) return { status: "n/a", http_status: first.status };
  const agent = keepAliveAgent(64);
  const run = await openLoop({
    ratePerSec: batchesPerSec,
    durationMs,
    send: (b) => request(`${ctx.baseUrl}/v1/events/batch`, { method: "POST", headers, body: body(b + 1), agent, timeoutMs: ctx.requestTimeoutMs }),
  });
  agent.destroy();
  const ok = run.results.filter((r) => r.status >= 200 && r.status < 300);
  const statuses = {};
  for (const r of run.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    status: ok.length ? "ok" : "error",
    first_status: first.status,
    batch_size: size,
    batches_per_s: batchesPerSec,
    batches: run.results.length,
    accepted_batches: ok.length,
    statuses,
    events_per_s: (ok.length * size) / (run.elapsedMs / 1000),
    latency_ms: summarize(ok.map((r) => r.ms)),
    sample_error: run.results.find((r) => r.status >= 300)?.text.slice(0, 300) ?? null,
  };
}

// ---------------------------------------------------------------------------
// 3. End to end

/**
 * Waits until `counter()` reaches `expected` or `maxMs` passed. Returns how long it waited.
 * @param {() => number} counter
 * @param {number} expected
 * @param {number} maxMs
 */
export async function drain(counter, expected, maxMs) {
  const start = now();
  while (counter() < expected && now() - start < maxMs) await sleep(50);
  return now() - start;
}

/**
 * One end-to-end scenario on a fresh account whose `fanOut` webhooks point at the
 * receiver (made beforehand with {@link createAccount} and {@link createWebhooks},
 * so their set-up is not billed to the scenario): events sent for `durationMs`,
 * the backlog drained (bounded), the counters settled and scraped. `before` is the
 * previous settled scrape; the result's `metrics.after` is the next one's `before`.
 *
 * Load: `open` = fixed rate (latency probe); `closed` = `senders` concurrent
 * senders, each sending its next event as soon as the last was accepted, but
 * holding back while more than `window` deliveries are accepted and not yet
 * received. The window keeps the pipeline saturated while bounding the backlog,
 * so the drain is short and one scenario's leftovers do not slow the next.
 * @param {Ctx} ctx
 *
 * `apiKeys` spreads the load over several accounts (their webhooks all named `<label>-…`):
 * closed-loop sender w sends with apiKeys[w mod n], the open loop's event i with apiKeys[i mod n].
 * `afterDrain` runs once the backlog has drained (or the drain was cut short), before the settle.
 * @param {Ctx} ctx
 * @param {{label: string, apiKey: string, apiKeys?: string[], fanOut: number, durationMs: number, drainMs: number, flushMs: number,
 *   before: {ops: Record<string, number>, succeeded: number} | null,
 *   open?: {rate: number}, closed?: {senders: number, window: number}, afterDrain?: () => void}} spec
 */
export async function endToEnd(ctx, spec) {
  const { label, fanOut, durationMs, apiKey, before } = spec;
  const phaseStart = now();
  const prefix = label;

  const mine = (p) => p.startsWith(`/hooks/${prefix}-`);
  let received = 0;
  /** Senders held back by the window, woken by the next receipt. */
  const waiters = new Set();
  const unsubscribe = ctx.receiver.onReceipt((r) => {
    if (!mine(r.path)) return;
    received++;
    for (const w of waiters) w();
    waiters.clear();
  });
  const firstReceipt = ctx.receiver.receipts.length;

  /** event id → {t0: send time, t1: accept time} */
  const sent = new Map();
  let inflight = 0;
  let accepted = 0;
  let refused = 0;
  const statuses = {};
  const agent = keepAliveAgent(spec.closed ? spec.closed.senders : 256);
  const keyHeaders = (spec.apiKeys?.length ? spec.apiKeys : [apiKey]).map((k) => ({ authorization: `Bearer ${k}` }));
  let seq = 0;
  /** @param {number} [k] which of the accounts sends (round robin over apiKeys) */
  const sendOne = async (k = 0) => {
    inflight++;
    const headers = keyHeaders[k % keyHeaders.length];
    const r = await request(`${ctx.baseUrl}/v1/events`, { method: "POST", headers, body: eventBody(seq++), agent, timeoutMs: ctx.requestTimeoutMs });
    inflight--;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const id = r.status === 202 ? parseJson(r.text)?.id : null;
    if (id) {
      accepted++;
      sent.set(id, { t0: r.t0, t1: r.t1 });
    } else refused++;
    return r;
  };

  const sendStart = now();
  let loadInfo = {};
  if (spec.open) {
    const run = await openLoop({ ratePerSec: spec.open.rate, durationMs, send: sendOne });
    loadInfo = { mode: "open", rate: spec.open.rate, missed_schedule: run.missed, max_schedule_lag_ms: Math.round(run.maxLagMs) };
  } else if (spec.closed) {
    const { senders, window } = spec.closed;
    const end = sendStart + durationMs;
    let gated = 0;
    const worker = async (w) => {
      while (now() < end) {
        // Hold back while the backlog (in flight + accepted − received) is over the window.
        while ((inflight + accepted) * fanOut - received + fanOut > window && now() < end) {
          gated++;
          await new Promise((r) => {
            waiters.add(r);
            setTimeout(r, 20);
          });
        }
        if (now() >= end) break;
        await sendOne(w);
      }
    };
    await Promise.all(Array.from({ length: senders }, (_, w) => worker(w)));
    loadInfo = { mode: "closed", senders, window, gated_waits: gated };
  }
  const sendEnd = now();
  agent.destroy();

  const expected = accepted * fanOut;
  const drainWaitedMs = await drain(() => received, expected, Math.max(1_000, Math.min(spec.drainMs, ctx.remainingMs() - 5_000)));
  spec.afterDrain?.();
  const quietSince = now();
  const settled = before ? await settledScrape(ctx, { quietSince, flushMs: spec.flushMs, before, expectSucceeded: () => Math.min(received, expected) }) : null;
  const after = settled?.counters ?? null;
  unsubscribe();

  // Per delivery: latency from the moment the event was sent (and, for reference, accepted).
  const receipts = ctx.receiver.receipts.slice(firstReceipt).filter((r) => mine(r.path));
  const seen = new Set();
  const latencies = [];
  const fromAccept = [];
  const times = [];
  let duplicates = 0;
  let unknown = 0;
  for (const r of receipts) {
    const key = `${r.eventId} ${r.path}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    const s = r.eventId ? sent.get(r.eventId) : undefined;
    if (!s) {
      unknown++;
      continue;
    }
    latencies.push(r.t - s.t0);
    fromAccept.push(r.t - s.t1);
    times.push(r.t);
  }
  const delivered = seen.size;
  // Steady window: skip the ramp-up (first 20 %, at most 2 s) and stop when sending stops.
  const warmup = Math.min(2_000, durationMs * 0.2);
  const winStart = sendStart + warmup;
  const inWindow = times.filter((t) => t >= winStart && t <= sendEnd).length;
  const lastReceipt = times.length ? times.reduce((a, b) => Math.max(a, b), -Infinity) : sendEnd;
  const buckets = [];
  for (const t of times) {
    const b = Math.floor((t - sendStart) / 1000);
    buckets[b] = (buckets[b] ?? 0) + 1;
  }
  const sortedLatencies = Float64Array.from(latencies).sort();
  return {
    label,
    fan_out: fanOut,
    load: loadInfo,
    duration_s: (sendEnd - sendStart) / 1000,
    events_sent: accepted + refused,
    events_accepted: accepted,
    events_per_s: accepted / ((sendEnd - sendStart) / 1000),
    statuses,
    deliveries_expected: expected,
    deliveries_received: delivered,
    duplicates,
    unknown_event_ids: unknown,
    undelivered: Math.max(0, expected - delivered),
    drain_waited_s: Math.round(drainWaitedMs) / 1000,
    phase_s: { send: (sendEnd - sendStart) / 1000, settle: (settled?.waitedMs ?? 0) / 1000, total: (now() - phaseStart) / 1000 },
    metric_scrapes: settled?.scrapes ?? 0,
    metrics_problem: before ? (settled?.problem ?? null) : "no earlier scrape (/metrics absent or failing)",
    steady_window_s: (sendEnd - winStart) / 1000,
    sustained_dps: inWindow / ((sendEnd - winStart) / 1000),
    overall_dps: delivered / ((lastReceipt - sendStart) / 1000),
    latency_ms: summarize(latencies),
    latency_from_accept_ms: summarize(fromAccept),
    per_second: Array.from(buckets, (v) => v ?? 0),
    // 101 quantiles (0 %, 1 %, … 100 %) are plenty for a CDF plot and keep the JSON small.
    cdf: sortedLatencies.length
      ? Array.from({ length: 101 }, (_, q) => Math.round(sortedLatencies[Math.min(sortedLatencies.length - 1, Math.floor((q / 100) * (sortedLatencies.length - 1)))] * 10) / 10)
      : [],
    cost: before && after ? { ...costBetween(before, after), receiver_deliveries: delivered } : null,
    metrics: before && after ? { before, after } : null,
  };
}
