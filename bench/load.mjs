// Load generation with node:http only: one HTTP helper, a closed-loop driver
// (N workers, each sends its next request when the last one answered) and an
// open-loop driver (sends on a fixed schedule whatever the answers do), plus
// the percentile maths every phase reports with.
import http from "node:http";
import { performance } from "node:perf_hooks";

/** Milliseconds on one monotonic clock shared by the load generator and the receiver (same process). */
export const now = () => performance.now();
/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A keep-alive agent. `maxSockets` caps connections: closed-loop phases use it as
 * the concurrency, open-loop phases set it high so no request waits for a socket
 * (a queued request would hide latency, the "coordinated omission" problem).
 * @param {number} maxSockets
 */
export const keepAliveAgent = (maxSockets) => new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });

/**
 * One HTTP request; resolves (never rejects) to {status, text, t0, t1, ms, headers, error?}.
 * status 0 means the request failed at the socket level; `headers` are the answer's ({} if none came).
 * @param {string} url
 * @param {{method?: string, headers?: Record<string,string>, body?: unknown, agent?: http.Agent, timeoutMs?: number}} [opts]
 */
export function request(url, { method = "GET", headers = {}, body, agent, timeoutMs = 30_000 } = {}) {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const h = { ...headers };
  if (payload !== undefined) {
    h["content-type"] ??= "application/json";
    h["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve) => {
    const t0 = now();
    /** @type {http.IncomingHttpHeaders} */
    let answerHeaders = {};
    const done = (status, text, error) => {
      const t1 = now();
      resolve({ status, text, t0, t1, ms: t1 - t0, headers: answerHeaders, error });
    };
    const req = http.request(url, { method, headers: h, agent, timeout: timeoutMs }, (res) => {
      answerHeaders = res.headers;
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8")));
      res.on("error", (err) => done(0, "", err));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", (err) => done(0, "", err));
    req.end(payload);
  });
}

/** JSON of a response text, or null. */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Closed loop: `concurrency` workers call `send()` back to back until `durationMs`
 * has passed. Returns every result (`send` must resolve to an object with `ms`, `status`).
 * @template {{ms: number, status: number}} R
 * @param {{concurrency: number, durationMs: number, send: (worker: number) => Promise<R>}} opts
 */
export async function closedLoop({ concurrency, durationMs, send }) {
  const start = now();
  const end = start + durationMs;
  /** @type {R[]} */
  const results = [];
  const worker = async (w) => {
    while (now() < end) results.push(await send(w));
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { results, start, elapsedMs: now() - start };
}

/**
 * Open loop: request i is due at start + i/rate, sent when due whether or not
 * earlier ones answered. Scheduling is drift-corrected (each timer aims at the
 * absolute due time of the next request, not "interval from now"), and a request
 * that goes out more than one interval late counts as a missed slot.
 * @template {{ms: number, status: number}} R
 * @param {{ratePerSec: number, durationMs: number, send: (i: number) => Promise<R>}} opts
 */
export async function openLoop({ ratePerSec, durationMs, send }) {
  const interval = 1000 / ratePerSec;
  const total = Math.max(1, Math.round((durationMs / 1000) * ratePerSec));
  const start = now();
  /** @type {Promise<R & {lagMs: number}>[]} */
  const pending = [];
  let next = 0;
  let missed = 0;
  let maxLagMs = 0;
  await new Promise((resolve) => {
    const tick = () => {
      // Everything due by now goes out in this tick (catching up after a late timer).
      while (next < total && start + next * interval <= now()) {
        const lagMs = now() - (start + next * interval);
        if (lagMs > interval) missed++;
        maxLagMs = Math.max(maxLagMs, lagMs);
        pending.push(send(next).then((r) => ({ ...r, lagMs })));
        next++;
      }
      if (next >= total) return resolve(undefined);
      setTimeout(tick, Math.max(0, start + next * interval - now()));
    };
    tick();
  });
  const sentMs = now() - start;
  const results = await Promise.all(pending);
  return { results, start, sentMs, elapsedMs: now() - start, scheduled: total, missed, maxLagMs };
}

/**
 * Nearest-rank percentile of an ascending array.
 * @param {number[]} sorted
 * @param {number} p 0..100
 */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * {n, p50, p90, p99, max, mean} of a list of latencies (ms, rounded to 0.1 ms); nulls when empty.
 * @param {number[]} values
 */
export function summarize(values) {
  const s = Float64Array.from(values).sort();
  const r = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
  return {
    n: s.length,
    p50: r(percentile(/** @type {any} */ (s), 50)),
    p90: r(percentile(/** @type {any} */ (s), 90)),
    p99: r(percentile(/** @type {any} */ (s), 99)),
    max: r(s.length ? s[s.length - 1] : null),
    mean: r(mean),
  };
}
