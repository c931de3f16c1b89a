// A real HTTP receiver on 127.0.0.1 for tests: records every delivery it gets
// and behaves as told (fail N times, answer a status, hang, answer slowly,
// stream a huge body, trickle bytes, drop the connection mid-answer).
//
//   POST /hooks/<name>           a delivery: recorded, answered per the plan
//   PUT  /_control/<name>        set the plan (below)
//   GET  /_received/<name>       what <name> received: [{headers, body, received_at, answered}]
//   GET  /_stats/<name>          how each answer to <name> went:
//                                [{started_at, bytes_written, finished, client_closed, ended_at}]
//                                (`client_closed`: the client went away before the answer was complete)
//   DELETE /_received/<name>     forget <name>'s deliveries, stats and plan
//
// Plan fields:
//   fail_times, fail_status      the first `fail_times` deliveries get `fail_status` (default 500)
//   status, body, headers        the answer otherwise (default 200 "ok")
//   delay_ms                     wait this long before answering
//   hang: true                   never answer and never close (until the client gives up)
//   stream_bytes: N              answer `status` and stream N bytes (64 KiB chunks, with backpressure),
//                                stopping as soon as the client goes away
//   trickle_ms: T                answer `status`, then send one byte every T ms until the client goes away
//   close_mid_response: true     write the headers (Content-Length 1000) and part of the body, then destroy the socket
//
// Random transient failures (for chaos tests), on top of the fields above:
//   fail_rate: p                 each delivery fails with probability p (0–1), answered `fail_status`
//                                (default 500), or dropped mid-answer as close_mid_response does if
//                                `fail_close: true` (then the record says `answered: <status>` like any dropped
//                                answer; its /_stats entry has `finished: false`)
//   fail_seed: n                 seeds the PRNG (mulberry32, default 1): the same arrival order gives the
//                                same decisions, so a failing run can be replayed
//   fail_cap: n                  a delivery (keyed by X-Rubric-Delivery-Id, else by <name>) never fails more
//                                than n times in a row (default 3): with a retry budget above n every
//                                delivery ends up succeeding
// Retry-After as an HTTP date (the `headers` field covers the seconds form):
//   retry_after_in_ms: N         every answer carries `Retry-After: <HTTP date>` of the first whole second
//                                at least N ms after the request arrived; the record keeps it as `retry_after`
import http from "node:http";

const CHUNK = Buffer.alloc(64 * 1024, "x");

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Whether this delivery fails at random under `plan.fail_rate`: a seeded draw,
 * but never more than `fail_cap` failures in a row for one delivery.
 */
function randomFailure(plan, key) {
  if (!plan.fail_rate) return false;
  plan._random ??= seededRandom(plan.fail_seed ?? 1);
  plan._streaks ??= new Map();
  const streak = plan._streaks.get(key) ?? 0;
  const fail = plan._random() < plan.fail_rate && streak < (plan.fail_cap ?? 3);
  plan._streaks.set(key, fail ? streak + 1 : 0);
  return fail;
}

/** The HTTP date of the first whole second at least `ms` from now. */
const retryAfterDate = (ms) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toUTCString();

/** Starts the receiver; resolves to {port, url, close, received(name), stats(name)}. */
export async function startReceiver({ port = 0 } = {}) {
  const received = new Map();
  const stats = new Map();
  const plans = new Map();
  const list = (name) => received.get(name) ?? received.set(name, []).get(name);
  const statList = (name) => stats.get(name) ?? stats.set(name, []).get(name);

  /** Tracks one answer: bytes written, and whether the client left before it was complete. */
  const track = (name, res) => {
    const stat = { started_at: Date.now(), bytes_written: 0, finished: false, client_closed: false, ended_at: null };
    statList(name).push(stat);
    res.on("finish", () => {
      stat.finished = true;
    });
    res.on("close", () => {
      stat.ended_at = Date.now();
      if (!stat.finished) stat.client_closed = true;
    });
    // Writes after the client left fail; that is expected here.
    res.on("error", () => {});
    return stat;
  };

  /** Whether the answer's connection is gone (closed by either side). */
  const gone = (res, stat) => res.destroyed || stat.ended_at !== null;

  /** Streams `total` bytes honouring backpressure; stops when the connection closes. */
  const stream = (res, stat, total) => {
    const pump = () => {
      while (!gone(res, stat) && stat.bytes_written < total) {
        const n = Math.min(CHUNK.length, total - stat.bytes_written);
        stat.bytes_written += n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return res.once("drain", pump);
      }
      if (!gone(res, stat)) res.end();
    };
    pump();
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const [, kind, name = ""] = new URL(req.url, "http://x").pathname.split("/");
      const json = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (kind === "_control" && req.method === "PUT") {
        plans.set(name, { ...JSON.parse(body || "{}"), seen: 0 });
        return json(200, { ok: true });
      }
      if (kind === "_received" && req.method === "GET") return json(200, list(name));
      if (kind === "_stats" && req.method === "GET") return json(200, statList(name));
      if (kind === "_received" && req.method === "DELETE") {
        received.delete(name);
        stats.delete(name);
        plans.delete(name);
        return json(200, { ok: true });
      }
      if (kind !== "hooks" || req.method !== "POST") return json(404, { error: "unknown path" });

      const plan = plans.get(name) ?? { seen: 0 };
      plan.seen += 1;
      plans.set(name, plan);
      const counted = plan.fail_times !== undefined && plan.seen <= plan.fail_times;
      const random = !counted && randomFailure(plan, req.headers["x-rubric-delivery-id"] ?? name);
      const failing = counted || random;
      // A random failure that drops the connection starts out as a normal answer.
      const status = failing && !(random && plan.fail_close) ? (plan.fail_status ?? 500) : (plan.status ?? 200);
      const record = { headers: req.headers, body, received_at: Date.now(), answered: status };
      const headers = { ...(plan.headers ?? {}) };
      if (plan.retry_after_in_ms !== undefined) headers["retry-after"] = record.retry_after = retryAfterDate(plan.retry_after_in_ms);
      list(name).push(record);
      const stat = track(name, res);

      const answer = () => {
        if (gone(res, stat)) return;
        if (plan.hang) return; // the connection stays open until the client gives up
        if (plan.stream_bytes !== undefined) {
          res.writeHead(status, { "content-type": "application/octet-stream", "content-length": String(plan.stream_bytes), ...headers });
          return stream(res, stat, plan.stream_bytes);
        }
        if (plan.trickle_ms !== undefined) {
          res.writeHead(status, { "content-type": "text/plain", ...headers });
          res.flushHeaders();
          const timer = setInterval(() => {
            if (gone(res, stat)) return clearInterval(timer);
            stat.bytes_written += 1;
            res.write(".");
          }, plan.trickle_ms);
          res.on("close", () => clearInterval(timer));
          return;
        }
        if (plan.close_mid_response || (random && plan.fail_close)) {
          const part = "partial answer, then the connection drops";
          res.writeHead(status, { "content-type": "text/plain", "content-length": "1000", ...headers });
          stat.bytes_written += part.length;
          res.write(part);
          setTimeout(() => req.socket.destroy(), 50);
          return;
        }
        const text = plan.body ?? (failing ? "failing as planned" : "ok");
        res.writeHead(status, { "content-type": "text/plain", ...headers });
        stat.bytes_written += Buffer.byteLength(text);
        res.end(text);
      };
      if (plan.delay_ms) setTimeout(answer, plan.delay_ms);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    received: (name) => list(name),
    stats: (name) => statList(name),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
