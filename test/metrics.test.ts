import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterD1, UsageMeter } from "../src/metrics/usage-meter";
import { ADMIN, call, newAccount, newWebhook, plan, receiverEndpoint, sendEvent, waitFor, waitForReceived } from "./support/helpers";

const metrics = async (key: string) => (await call("GET", "/v1/metrics", { key })).json;

describe("usage metering", () => {
  it("counts exactly the rows D1 reports for each statement", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS meter_probe (id TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID");
    const meter = new UsageMeter();
    const db = meterD1(env.DB, meter);
    const reported = { read: 0, written: 0 };
    const note = (meta: D1Meta) => {
      reported.read += meta.rows_read;
      reported.written += meta.rows_written;
    };
    note((await db.prepare("INSERT INTO meter_probe VALUES (?, ?)").bind("a", 1).run()).meta);
    for (const r of await db.batch([
      db.prepare("INSERT INTO meter_probe VALUES (?, ?)").bind("b", 2),
      db.prepare("INSERT INTO meter_probe VALUES (?, ?)").bind("c", 3),
      db.prepare("UPDATE meter_probe SET v = v + 1"),
    ]))
      note(r.meta);
    note((await db.prepare("SELECT * FROM meter_probe").all()).meta);
    expect(await db.prepare("SELECT v FROM meter_probe WHERE id = ?").bind("c").first("v")).toBe(4);
    const counts = meter.take().get("system")!;
    expect(reported.written).toBe(6);
    expect(counts.d1_rows_written).toBe(reported.written);
    expect(counts.d1_rows_read).toBeGreaterThanOrEqual(reported.read);
  });

  it("spreads a shared batch's counts over accounts in proportion", () => {
    const meter = new UsageMeter();
    meter.add("queue_operations", 10);
    meter.spread(new Map([["a", 3], ["b", 1]]));
    const counts = meter.take();
    expect(counts.get("a")!.queue_operations! + counts.get("b")!.queue_operations!).toBe(10);
    expect(counts.get("b")!.queue_operations).toBe(2);
  });
});

describe("metrics", () => {
  it("move as deliveries happen; a first-try success costs 3 D1 rows, 3 queue operations and no Durable Object writes", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("metrics");
    const hook = await newWebhook(key, { url: ep.url, events: ["sample.scored"] });
    await call("GET", "/v1/webhooks", { key }); // flushes the create's counts
    const before = await metrics(key);
    const N = 4;
    // One at a time, each delivered before the next is sent: an isolate gathers events accepted
    // within 5 ms into one queue message, and this test counts the operations of one event alone.
    for (let i = 0; i < N; i++) {
      await sendEvent(key, { type: "sample.scored", data: { i } });
      await waitForReceived(ep.name, i + 1);
    }
    const after = await waitFor(async () => {
      const m = await metrics(key);
      return m.deliveries_succeeded - before.deliveries_succeeded === N && m.billable_operations.queue_operations - before.billable_operations.queue_operations === 3 * N ? m : null;
    });
    const delta = (k: string) => after.billable_operations[k] - before.billable_operations[k];
    expect(after.events_accepted - before.events_accepted).toBe(N);
    expect(after.attempts - before.attempts).toBe(N);
    expect(after.retries - before.retries).toBe(0);
    // event insert, event marked dispatched, attempt record: one row each (WITHOUT ROWID, no indexes).
    expect(delta("d1_rows_written")).toBe(3 * N);
    expect(delta("do_rows_written")).toBe(0);
    expect(delta("queue_operations")).toBe(3 * N);
    expect(delta("worker_requests")).toBeGreaterThanOrEqual(N);
    expect(after.attempt_latency_ms.count - before.attempt_latency_ms.count).toBe(N);
    expect(after.cost_per_million_deliveries_usd).toBeGreaterThan(0);
    expect(after.endpoints).toEqual([{ webhook_id: hook.id, backlog: 0, in_flight: 0, oldest_event_at: null, asleep: false }]);
  });

  it("count retries, failures, backlog and the oldest undelivered event", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("metrics-fail");
    await plan(ep.name, { status: 503 });
    const hook = await newWebhook(key, { url: ep.url, retry_config: { max_retries: 1, backoff: "fixed", initial_delay_ms: 60_000 } });
    await sendEvent(key, { type: "sample.scored", data: { i: 0 } });
    await waitForReceived(ep.name, 1);
    // The next two in one batch: one hand-over to the object, stored as one row.
    const batch = await call("POST", "/v1/events/batch", { key, body: { events: [1, 2].map((i) => ({ type: "sample.scored", data: { i } })) } });
    expect(batch.status).toBe(202);
    const m = await waitFor(async () => {
      const r = await metrics(key);
      // The object flushes its counters after its work (waitUntil), so they can trail the live backlog.
      return r.endpoints[0]?.backlog === 3 && r.attempts === 1 && r.billable_operations.do_rows_written >= 2 ? r : null;
    });
    expect(m.endpoints[0]).toMatchObject({ webhook_id: hook.id, backlog: 3 });
    expect(m.oldest_undelivered_age_seconds).toBeGreaterThanOrEqual(0);
    expect(m.oldest_undelivered_age_seconds).toBeLessThan(60);
    expect(m.deliveries_succeeded).toBe(0);
    // The failed head (a retry row) and the two behind it (one batch row) are stored in the object:
    // two rows written and billed, not one per delivery.
    expect(m.billable_operations.do_rows_written).toBe(2);
  });

  it("are served to the operator in Prometheus format, and only to the operator", async () => {
    const { key } = await newAccount();
    expect((await call("GET", "/metrics", { key })).status).toBe(401);
    const res = await call("GET", "/metrics", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/plain");
    expect(res.text).toMatch(/^# HELP rubric_events_accepted_total/m);
    expect(res.text).toMatch(/^rubric_billable_ops_total\{op="d1_rows_written"\} \d+$/m);
    expect(res.text).toMatch(/^rubric_attempt_duration_ms_bucket\{le="\+Inf"\} \d+$/m);
    expect(res.text).toMatch(/^rubric_oldest_undelivered_age_seconds [\d.]+$/m);
  });
});
