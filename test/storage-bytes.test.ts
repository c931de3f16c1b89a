// Bytes per delivery (issue 16 part 3): what one event row and one attempt row take in D1, for a
// realistic event delivered to a real receiver. Prints the table the README quotes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryAttempts, events } from "../src/db/schema";
import { call, insertEvent, newAccount, newWebhook, plan, receiverEndpoint, sendEvent, waitFor, waitForReceived, webhookWithEvents } from "./support/helpers";
import { type ColumnBytes, columnBytes, dominant, measuredBytesPerRow, recordOverhead, sum } from "./support/row-bytes";
import { SEED_DATA, SEED_METADATA } from "./support/seed.mjs";
import { records, recordsD1Of } from "./support/records";

/** The seed's evaluation.completed `data`, grown to a realistic ~1.5 KB: per-category results, thresholds, links. */
const EVALUATION_DATA = {
  ...SEED_DATA,
  summary: { ...SEED_DATA.summary, under_triage_rate: 0.031, over_triage_rate: 0.094, median_latency_ms: 812 },
  categories: ["cardiology", "respiratory", "neurology", "pediatrics", "trauma", "mental-health", "infectious", "other"].map((name, i) => ({
    name,
    samples: 40 + i * 9,
    triage_accuracy: Number((0.8 + i * 0.017).toFixed(3)),
    safety_score: Number((0.9 + i * 0.006).toFixed(3)),
    flagged: i % 3,
  })),
  thresholds: { triage_accuracy: 0.85, safety_score: 0.93, passed: true },
  reviewers: ["rev_4kq9x2", "rev_8mz1c7"],
  report_url: "https://app.rubric.example/projects/patient-triage/evaluations/eval_xyz789/report",
  started_at: "2024-03-15T09:58:12Z",
};
const EVALUATION_METADATA = { ...SEED_METADATA, run_id: "run_2024_03_15_0600", triggered_by: "schedule" };

/** Hex that does not repeat (ids, hashes): what keeps real payloads from deflating to nothing. */
const hex = (seed: number, n: number) => {
  let x = seed >>> 0 || 1;
  let out = "";
  while (out.length < n) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += (x >>> 0).toString(16).padStart(8, "0");
  }
  return out.slice(0, n);
};
/** An ~8 KB evaluation.completed: the one above plus 50 flagged samples with ids, scores and notes. */
const LARGE_EVALUATION_DATA = {
  ...EVALUATION_DATA,
  flagged_samples: Array.from({ length: 50 }, (_, i) => ({
    sample_id: `smp_${hex(i + 1, 16)}`,
    category: EVALUATION_DATA.categories[i % 8]!.name,
    triage_accuracy: Number(((i * 37) % 100 / 100).toFixed(2)),
    note: `expected ${["ESI-2", "ESI-3", "ESI-4"][i % 3]}, model said ${["ESI-3", "ESI-4", "ESI-2"][i % 3]}; trace ${hex(i + 101, 12)}`,
  })),
};

/** What an endpoint behind a CDN typically answers with (Node's own date/connection/keep-alive come on top). */
const CDN_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  server: "cloudflare",
  "cf-ray": "8f1c2a3b4d5e6f70-FRA",
  "cf-cache-status": "DYNAMIC",
  nel: '{"success_fraction":0,"report_to":"cf-nel","max_age":604800}',
  "report-to":
    '{"endpoints":[{"url":"https:\\/\\/a.nel.cloudflare.com\\/report\\/v4?s=Xb2kQ0%2FZ8yJmV3sT1nQpL4rW9eUoA7cD6fG5hJ2kL8mN0pR3sT6vX9yB1cE4gH7jK0mP2qS5uW8zA3dF6gI9lL2oR5tU8xB1eH4kN7qT0wZ3cF6iL9oR2uX5aD8gJ1m"}],"group":"cf-nel","max_age":604800}',
  "alt-svc": 'h3=":443"; ma=86400',
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-request-id": "3f2a9c1e-7b4d-4e8a-9f1c-2d3e4f5a6b7c",
  "x-content-type-options": "nosniff",
  vary: "Accept-Encoding",
};
/** A 5 KB error page, as a proxy in front of a down service serves it. */
const ERROR_PAGE = `<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>${"<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>".repeat(40)}</body></html>`;

interface Measured {
  columns: ColumnBytes;
  /** Column bytes + the record's own overhead + entries in the indexes that cover the row. */
  estimate: number;
  /** What the D1 file grows by per copy of the row. */
  onDisk: number;
}

/** The attempts_retry_due entry of a retrying attempt: (next_attempt_at, webhook_id, delivery_id, attempt) and its record overhead. */
const retryIndexEntry = (c: ColumnBytes) => {
  const key = { n: c.next_attempt_at!, w: c.webhook_id!, d: c.delivery_id!, a: c.attempt! };
  return sum(key) + recordOverhead(key);
};

async function measureEvent(accountId: string, id: string): Promise<Measured> {
  const d1 = recordsD1Of(accountId);
  const columns = await columnBytes(d1, events, "account_id = ? AND id = ?", accountId, id);
  // Copies keep the key's length: the id's last 6 characters become the copy's number.
  const onDisk = await measuredBytesPerRow(
    d1,
    `INSERT INTO events (account_id, id, type, created_at, data, metadata, project_id, severity, status, idempotency_key, trace_parent, trace_state)
     SELECT account_id, substr(id, 1, length(id) - 6) || printf('%06d', n), type, created_at, data, metadata, project_id, severity, status, NULL,
       trace_parent, trace_state
     FROM events, copies WHERE account_id = ? AND id = ?`,
    [accountId, id],
  );
  return { columns, estimate: sum(columns) + recordOverhead(columns), onDisk };
}

async function measureAttempt(accountId: string, webhookId: string, deliveryId: string, attempt: number): Promise<Measured> {
  const d1 = recordsD1Of(accountId);
  const columns = await columnBytes(d1, deliveryAttempts, "webhook_id = ? AND delivery_id = ? AND attempt = ?", webhookId, deliveryId, attempt);
  const onDisk = await measuredBytesPerRow(
    d1,
    `INSERT INTO delivery_attempts SELECT webhook_id, substr(delivery_id, 1, length(delivery_id) - 6) || printf('%06d', n), attempt,
       id, account_id, event_id, event_type, status, "trigger", started_at, duration_ms, request_headers, response_code,
       response_headers, response_body, error, next_attempt_at, trace_parent
     FROM delivery_attempts, copies WHERE webhook_id = ? AND delivery_id = ? AND attempt = ?`,
    [webhookId, deliveryId, attempt],
  );
  const status = await records.prepare("SELECT status FROM delivery_attempts WHERE webhook_id = ? AND delivery_id = ? AND attempt = ?")
    .bind(webhookId, deliveryId, attempt)
    .first<string>("status");
  const index = status === "retrying" ? retryIndexEntry(columns) : 0;
  return { columns, estimate: sum(columns) + recordOverhead(columns) + index, onDisk };
}

/** Delivers `event` to a receiver planned as `behaviour`; returns the webhook and its delivery's id once attempt 1 is in D1. */
async function deliveredTo(key: string, behaviour: Record<string, unknown>, hook: Record<string, unknown> = {}) {
  const ep = receiverEndpoint("bytes");
  await plan(ep.name, behaviour);
  const webhook = await newWebhook(key, { url: ep.url, events: ["evaluation.completed"], ...hook });
  return { ep, webhook };
}

const rows: Array<[string, Measured]> = [];

describe("bytes per delivery", () => {
  it("measures an event row and its attempt rows: first-try successes and a failure with a 4 KB body", async () => {
    const { id: accountId, key } = await newAccount();
    const bare = await deliveredTo(key, {});
    const cdn = await deliveredTo(key, { body: '{"received":true}', headers: CDN_HEADERS });
    const failing = await deliveredTo(
      key,
      { status: 503, body: ERROR_PAGE, headers: { ...CDN_HEADERS, "content-type": "text/html", "retry-after": "120" } },
      { retry_config: { max_retries: 5, backoff: "fixed", initial_delay_ms: 3_600_000 } },
    );
    const worst = await deliveredTo(key, {
      body: "w".repeat(100_000),
      headers: { ...CDN_HEADERS, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-debug-${i}`, hex(i + 7, 60)])) },
    });
    const event = await sendEvent(key, { type: "evaluation.completed", data: EVALUATION_DATA, metadata: EVALUATION_METADATA });
    const byHook = new Map<string, string>();
    for (const t of [bare, cdn, failing, worst]) {
      const [got] = await waitForReceived(t.ep.name, 1);
      byHook.set(t.webhook.id, got!.headers["x-rubric-delivery-id"]!);
    }
    // Every attempt row is in D1 (successes are written in batches, within a second).
    for (const [hookId, deliveryId] of byHook) {
      await waitFor(async () => (await call("GET", `/v1/deliveries/${deliveryId}`, { key })).status === 200, 10_000, `the record of ${hookId}`);
    }

    rows.push(["event row (1.5 KB data)", await measureEvent(accountId, event.id)]);
    rows.push(["first-try success, bare Node receiver", await measureAttempt(accountId, bare.webhook.id, byHook.get(bare.webhook.id)!, 1)]);
    rows.push(["first-try success, receiver behind a CDN", await measureAttempt(accountId, cdn.webhook.id, byHook.get(cdn.webhook.id)!, 1)]);
    rows.push(["first-try success, worst case (40 more headers, 100 KB body)", await measureAttempt(accountId, worst.webhook.id, byHook.get(worst.webhook.id)!, 1)]);
    rows.push(["failed attempt (503, 5 KB body), retrying", await measureAttempt(accountId, failing.webhook.id, byHook.get(failing.webhook.id)!, 1)]);
    // Event rows of other sizes (no webhook needs them).
    const seedEvent = await sendEvent(key, { type: "sample.scored", data: SEED_DATA, metadata: SEED_METADATA });
    rows.push(["event row (the seed's 256-byte data)", await measureEvent(accountId, seedEvent.id)]);
    const large = await sendEvent(key, { type: "sample.scored", data: LARGE_EVALUATION_DATA, metadata: EVALUATION_METADATA });
    rows.push(["event row (8 KB data)", await measureEvent(accountId, large.id)]);

    const table = rows.map(
      ([what, m]) => `| ${what} | ${sum(m.columns)} | ${m.estimate} | ${m.onDisk} | ${dominant(m.columns)} |`,
    );
    console.log(
      ["| row | column bytes | + record and index overhead | on disk (measured) | largest columns |", "|---|---|---|---|---|", ...table].join("\n"),
    );
    // The budgets (README, Performance: bytes per delivery). On disk is what counts against
    // D1's 10 GB; a row over ~1 000 bytes spills to a 4 KiB overflow page.
    const [eventRow, bareRow, cdnRow, worstRow, failedRow] = rows.map(([, m]) => m);
    expect(eventRow!.onDisk).toBeLessThanOrEqual(1_000);
    expect(sum(eventRow!.columns)).toBeLessThanOrEqual(800);
    for (const m of [bareRow!, cdnRow!]) {
      expect(m.onDisk).toBeLessThanOrEqual(700);
      expect(sum(m.columns)).toBeLessThanOrEqual(650);
    }
    // Whatever a receiver answers, a first-try success stays on its leaf page.
    expect(worstRow!.onDisk).toBeLessThanOrEqual(1_100);
    // A failure keeps 4 KiB of its body: one overflow page, not two.
    expect(failedRow!.onDisk).toBeLessThanOrEqual(5_000);
  });

  it("measures a first-try success packed with others (db/attempt-packs.ts): bytes per entry of a pack", async () => {
    const { account, ep, hook, stub, ids } = await webhookWithEvents("bytes-packed", 50, { events: ["*"] });
    await plan(ep.name, { body: '{"received":true}', headers: CDN_HEADERS });
    await stub.enqueue(ids);
    await waitForReceived(ep.name, 50, 20_000);
    const d1 = recordsD1Of(account.id);
    const pack = await waitFor(
      () => d1.prepare("SELECT last_id, id, n, length(CAST(items AS BLOB)) AS bytes FROM attempt_packs WHERE webhook_id = ? ORDER BY n DESC LIMIT 1").bind(hook.id)
        .first<{ last_id: string; id: string; n: number; bytes: number }>()
        .then((p) => (p && p.n >= 10 ? p : null)),
      10_000,
      "a pack of at least 10",
    );
    // Copies keep the key's length: the last id's final 6 characters become the copy's number.
    const onDisk = await measuredBytesPerRow(
      d1,
      `INSERT INTO attempt_packs (webhook_id, last_id, id, first_id, account_id, n, items)
       SELECT webhook_id, substr(last_id, 1, length(last_id) - 6) || printf('%06d', copies.n), id, first_id, account_id, attempt_packs.n, items
       FROM attempt_packs, copies WHERE webhook_id = ? AND last_id = ? AND id = ?`,
      [hook.id, pack.last_id, pack.id],
      100,
    );
    const perEntry = Math.round(onDisk / pack.n);
    console.log(`| first-try success, receiver behind a CDN, in a pack of ${pack.n} | ${Math.round(pack.bytes / pack.n)} per entry | | ${perEntry} per entry | items |`);
    // No more bytes than a row of its own (the CDN row above: ≤ 700 on disk), for a fiftieth of the rows written.
    expect(perEntry).toBeLessThanOrEqual(650);
  });

  it("stores long event payloads deflated and reads them, and rows stored as text, back unchanged", async () => {
    const { id: accountId, key } = await newAccount();
    const long = await sendEvent(key, { type: "evaluation.completed", data: EVALUATION_DATA, metadata: EVALUATION_METADATA });
    const short = await sendEvent(key, { type: "sample.scored", data: { n: 1 } });
    const types = (id: string) =>
      records.prepare("SELECT typeof(data) AS data, typeof(metadata) AS metadata FROM events WHERE account_id = ? AND id = ?").bind(accountId, id).first();
    expect(await types(long.id)).toEqual({ data: "blob", metadata: "text" });
    expect(await types(short.id)).toEqual({ data: "text", metadata: "text" });
    expect((await call("GET", `/v1/events/${long.id}`, { key })).json).toMatchObject({ data: EVALUATION_DATA, metadata: EVALUATION_METADATA });
    expect((await call("GET", `/v1/events/${short.id}`, { key })).json).toMatchObject({ data: { n: 1 }, metadata: {} });
    // A row written before deflating existed: TEXT, read as it is.
    const old = await insertEvent(accountId, { data: EVALUATION_DATA, status: "dispatched" });
    expect((await types(old))!.data).toBe("text");
    expect((await call("GET", `/v1/events/${old}`, { key })).json.data).toEqual(EVALUATION_DATA);
    // And the slow ingest path (an idempotency key) stores the same way.
    const keyed = await call("POST", "/v1/events", { key, body: { type: "evaluation.completed", data: EVALUATION_DATA }, headers: { "Idempotency-Key": "k-1" } });
    expect(keyed.status).toBe(202);
    expect((await types(keyed.json.id))!.data).toBe("blob");
  });
});
