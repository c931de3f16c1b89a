// GET /v1/admin/health and the outbox gauges of /metrics, against the pool's real D1.
// Pending events are written straight into D1 (as if their queue message was lost);
// the sweeper's alarm is an hour away in tests, so nothing fans them out behind our back.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { fanOut } from "../src/dispatch/fan-out";
import { RECOVERY_BOUND_SECONDS } from "../src/dispatch/recovery-bound";
import { idFloor } from "../src/lib/ids";
import { pendingQuery } from "../src/metrics/pending";
import { heldBacklog } from "./support/backlog";
import { ADMIN, call, insertEvent, newAccount, newWebhook, plan, receiverEndpoint, waitForReceived } from "./support/helpers";
import { records, recordsD1Of } from "./support/records";

const health = () => call("GET", "/v1/admin/health", { headers: ADMIN });
/** The pending-events mark of the shard that holds `accountId`'s records. */
const mark = async (accountId: string) =>
  (await recordsD1Of(accountId).prepare("SELECT value FROM scan_marks WHERE name = 'pending_events'").first<{ value: string }>())?.value ?? null;
const ago = (seconds: number) => Date.now() - seconds * 1000;

// Each test starts with nothing pending (storage is shared by the tests of a file).
beforeEach(async () => {
  await records.prepare("UPDATE events SET status = 'dead_lettered' WHERE status = 'pending'").run();
});

describe("GET /v1/admin/health: who may call it", () => {
  it("needs the operator token: none is a 401 in the API's error shape", async () => {
    const res = await call("GET", "/v1/admin/health");
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("operator token"), request_id: expect.any(String) } });
    expect(res.headers.get("X-Request-Id")).toBe(res.json.error.request_id);
    expect((await call("GET", "/v1/admin/health", { headers: { Authorization: "Bearer not-the-token" } })).status).toBe(401);
  });

  it("refuses an account's API key, even one with every scope", async () => {
    const { key } = await newAccount("health-key");
    const res = await call("GET", "/v1/admin/health", { key });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("unauthorized");
    expect(res.json).not.toHaveProperty("status");
  });

  it("is described in /openapi.json as an operator route", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const op = doc.paths["/v1/admin/health"]?.get;
    expect(op.security).toEqual([{ operatorToken: [] }]);
    expect(doc.components.schemas.AdminHealth.required).toEqual(
      expect.arrayContaining(["status", "recovery_bound_seconds", "pending_events", "endpoints", "checked_at"]),
    );
  });
});

describe("GET /v1/admin/health: what it reports", () => {
  it("says ok, with zero counts, when nothing is owed", async () => {
    const before = Date.now();
    const res = await health();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      status: "ok",
      recovery_bound_seconds: 60,
      pending_events: { count: 0, oldest_age_seconds: 0, over_bound: 0 },
      endpoints: { backlog: 0, oldest_undelivered_age_seconds: 0, asleep: 0 },
      checked_at: expect.any(String),
    });
    expect(Date.parse(res.json.checked_at)).toBeGreaterThanOrEqual(before - 1);
    expect(RECOVERY_BOUND_SECONDS).toBe(60);
  });

  it("says stalled when accepted events wait for their fan-out longer than the bound, across accounts", async () => {
    const a = await newAccount("health-a");
    const b = await newAccount("health-b");
    await insertEvent(a.id, { createdAt: ago(180) });
    await insertEvent(b.id, { createdAt: ago(90) });
    await insertEvent(b.id, { createdAt: ago(5) });
    await insertEvent(a.id, { createdAt: ago(300), status: "dispatched" }); // done: not owed
    const res = await health();
    expect(res.status).toBe(200);
    expect(res.json.status).toBe("stalled");
    expect(res.json.pending_events.count).toBe(3);
    expect(res.json.pending_events.over_bound).toBe(2);
    expect(res.json.pending_events.oldest_age_seconds).toBeGreaterThanOrEqual(180);
    expect(res.json.pending_events.oldest_age_seconds).toBeLessThan(190);
  });

  it("counts a recent pending event without calling it a stall", async () => {
    const { id } = await newAccount("health-recent");
    await insertEvent(id, { createdAt: ago(RECOVERY_BOUND_SECONDS - 10) });
    const res = await health();
    expect(res.json.status).toBe("ok");
    expect(res.json.pending_events).toMatchObject({ count: 1, over_bound: 0 });
    expect(res.json.pending_events.oldest_age_seconds).toBeGreaterThanOrEqual(RECOVERY_BOUND_SECONDS - 10);
    expect(res.json.pending_events.oldest_age_seconds).toBeLessThan(RECOVERY_BOUND_SECONDS);
  });

  it("stops counting an event once it is fanned out", async () => {
    const { id } = await newAccount("health-done");
    const eventId = await insertEvent(id, { createdAt: ago(120) });
    expect((await health()).json.status).toBe("stalled");
    await fanOut(env, [{ accountId: id, eventId }]);
    const res = await health();
    expect(res.json.status).toBe("ok");
    expect(res.json.pending_events.count).toBe(0);
  });

  it("does not call a failing receiver's backlog, retried on schedule, a stall", async () => {
    const account = await newAccount("health-failing");
    const ep = receiverEndpoint("health-503");
    await plan(ep.name, { status: 503 });
    const hook = await newWebhook(account.key, { url: ep.url, retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 600_000 } });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    // An event from five minutes ago, fanned out now; its first attempt fails and waits ten minutes.
    const eventId = await insertEvent(account.id, { createdAt: ago(300) });
    await fanOut(env, [{ accountId: account.id, eventId }]);
    await waitForReceived(ep.name, 1);
    const res = await health();
    expect(res.json.endpoints.backlog).toBe(1);
    expect(res.json.endpoints.oldest_undelivered_age_seconds).toBeGreaterThanOrEqual(300);
    expect(res.json.pending_events.count).toBe(0);
    expect(res.json.status).toBe("ok");
  });
});

describe("GET /v1/admin/health: endpoints asleep", () => {
  it("calls an object holding deliveries with no alarm that would run a stall, wakes it, and leaves a disabled one's hold alone", async () => {
    const asleep = await heldBacklog("health-asleep", 2, null);
    const disabled = await heldBacklog("health-held", 1, null);
    await env.DB.prepare("UPDATE webhooks SET status = 'disabled' WHERE id = ?").bind(disabled.hook.id).run();
    const res = await health();
    expect(res.json.status).toBe("stalled");
    expect(res.json.endpoints.asleep).toBe(1);
    expect(res.json.pending_events.over_bound).toBe(0);
    // The look re-armed them: both deliver, in order, and the next look is calm.
    const got = await waitForReceived(asleep.ep.name, 2);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(asleep.events);
    const metrics = await call("GET", "/metrics", { headers: ADMIN });
    expect(metrics.text).toMatch(/^rubric_endpoints_asleep 0$/m);
    expect((await health()).json).toMatchObject({ status: "ok", endpoints: { asleep: 0 } });
  });
});

describe("the pending-events scan", () => {
  it("keeps counting an event older than the mark's lag while the mark moves on, and never passes it", async () => {
    await records.prepare("DELETE FROM scan_marks").run();
    const { id } = await newAccount("health-mark");
    const old = await insertEvent(id, { createdAt: ago(3600) });
    for (let i = 0; i < 2; i++) {
      const res = await health();
      expect(res.json.pending_events).toMatchObject({ count: 1, over_bound: 1 });
      expect(res.json.pending_events.oldest_age_seconds).toBeGreaterThanOrEqual(3600);
      expect(await mark(id)).toBe(old);
    }
    await records.prepare("UPDATE events SET status = 'dispatched' WHERE id = ?").bind(old).run();
    expect((await health()).json.pending_events.count).toBe(0);
    // Nothing pending: the mark moves up to ten minutes behind now, no closer.
    const moved = (await mark(id))!;
    expect(moved > old).toBe(true);
    expect(moved <= idFloor("evt", Date.now() - 10 * 60_000)).toBe(true);
    expect(moved >= idFloor("evt", Date.now() - 11 * 60_000)).toBe(true);
    // A new event, just accepted, is above the mark and counted.
    await insertEvent(id, { createdAt: ago(70) });
    expect((await health()).json.pending_events).toMatchObject({ count: 1, over_bound: 1 });
  });

  it("reads each account's range of the events key, never the whole table", async () => {
    const plan = await createDb(env.DB_SHARD_0).all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${pendingQuery(Date.now(), ["acct_a", "acct_b"])}`);
    const details = plan.map((p) => p.detail);
    expect(details.some((d) => /SEARCH events USING PRIMARY KEY \(account_id=\? AND id>\?\)/.test(d)), details.join("\n")).toBe(true);
    expect(details.some((d) => /^SCAN events/.test(d)), details.join("\n")).toBe(false);
  });
});

describe("/metrics: the outbox gauges", () => {
  it("shows pending events, the oldest one's age and how many are over the bound", async () => {
    const { id } = await newAccount("health-prom");
    await insertEvent(id, { createdAt: ago(200) });
    await insertEvent(id, { createdAt: ago(100) });
    await insertEvent(id, { createdAt: ago(1) });
    const res = await call("GET", "/metrics", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^# TYPE rubric_pending_events gauge$/m);
    expect(res.text).toMatch(/^rubric_pending_events 3$/m);
    expect(res.text).toMatch(/^rubric_events_pending_over_bound 2$/m);
    const age = Number(/^rubric_oldest_pending_event_age_seconds ([\d.]+)$/m.exec(res.text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(200);
    expect(age).toBeLessThan(210);
    expect(res.text).toMatch(/^rubric_oldest_undelivered_age_seconds [\d.]+$/m);
    // The same numbers as the health route: one query behind both.
    expect((await health()).json.pending_events).toMatchObject({ count: 3, over_bound: 2 });
  });
});
