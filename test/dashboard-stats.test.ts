// The dashboard's 24 h aggregates, computed in the database: buckets, the window's edges, other
// accounts left out, and percentiles that agree with the API's /stats.
import { recordsDbOf } from "./support/records";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { deliveryAttempts } from "../src/db/schema";
import { activity, hourlyByWebhook } from "../src/dashboard/stats";
import { deliveryId, idGenerator } from "../src/lib/ids";
import { call, newAccount, newWebhook, receiverEndpoint } from "./support/helpers";

type Status = "succeeded" | "retrying" | "failed" | "cancelled";

/** Records one attempt of an event made at `at` (the attempt starts then too). */
function attempt(accountId: string, webhookId: string, at: number, status: Status, durationMs: number) {
  const eventId = idGenerator(() => at)("evt");
  return {
    webhookId,
    deliveryId: deliveryId(eventId, webhookId),
    attempt: 1,
    id: idGenerator(() => at)("att"),
    accountId,
    eventId,
    eventType: "sample.scored",
    status,
    trigger: "scheduled" as const,
    startedAt: at,
    durationMs,
  };
}

describe("dashboard aggregates", () => {
  it("count attempts per hour per webhook within the last 24 h, for the account only", async () => {
    const a = await newAccount("stats-a");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    const now = Date.now();
    const db = createDb(env.DB);
    await db.insert(deliveryAttempts).values([
      attempt(a.id, hook.id, now - 30 * 60_000, "succeeded", 10),
      attempt(a.id, hook.id, now - 90 * 60_000, "failed", 10),
      attempt(a.id, hook.id, now - 91 * 60_000, "retrying", 10),
      attempt(a.id, hook.id, now - 92 * 60_000, "cancelled", 10),
      attempt(a.id, hook.id, now - 25 * 3_600_000, "succeeded", 10),
      attempt("acct_someone_else", hook.id, now - 10 * 60_000, "succeeded", 10),
    ]);
    const series = (await hourlyByWebhook(db, a.id, [hook.id], now)).get(hook.id)!;
    expect(series.ok).toEqual([...Array(23).fill(0), 1]);
    expect(series.bad).toEqual([...Array(22).fill(0), 2, 0]);
    expect((await hourlyByWebhook(db, "acct_someone_else", [hook.id], now)).get(hook.id)!.ok[23]).toBe(1);
  });

  it("bucket attempts per minute by outcome, with latency percentiles matching the API's /stats", async () => {
    const a = await newAccount("stats-b");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    const other = await newWebhook(a.key, { url: receiverEndpoint().url });
    const now = Date.now();
    const db = recordsDbOf(a.id);
    // 100 attempts of 1..100 ms, one per event, spread over the last 100 minutes; the last ten failed.
    const rows = Array.from({ length: 100 }, (_, i) => attempt(a.id, hook.id, now - (100 - i) * 60_000 + 1, i >= 90 ? "failed" : "succeeded", i + 1));
    // D1 binds at most 100 values per statement: 8 rows of 11 at a time.
    for (let i = 0; i < rows.length; i += 8) await db.insert(deliveryAttempts).values(rows.slice(i, i + 8));
    await db.insert(deliveryAttempts).values(attempt(a.id, other.id, now - 5 * 60_000, "retrying", 5_000));

    const only = await activity(db, a.id, [hook.id], now);
    expect(only.latency).toEqual({ count: 100, p50: 51, p90: 91, p95: 96, p99: 100 });
    const stats = (await call("GET", `/v1/webhooks/${hook.id}/stats?window=24h`, { key: a.key })).json;
    expect([stats.latency_ms.p50, stats.latency_ms.p95]).toEqual([only.latency.p50, only.latency.p95]);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    expect([sum(only.series.succeeded), sum(only.series.failed), sum(only.series.retrying)]).toEqual([90, 10, 0]);
    // Minute 1440 - 100 holds the first attempt, the last minute's bucket the last one.
    expect(only.series.succeeded[1340]).toBe(1);
    expect(only.series.failed[1439]).toBe(1);

    const both = await activity(db, a.id, [hook.id, other.id], now);
    expect(both.series.retrying[1435]).toBe(1);
    expect(both.latency.count).toBe(101);
    expect(both.latency.p99).toBe(100);
    const none = await activity(db, a.id, [], now);
    expect(none.latency).toEqual({ count: 0, p50: null, p90: null, p95: null, p99: null });
  });
});
