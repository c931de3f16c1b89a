import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryId } from "../src/lib/ids";
import { call, insertEvent, newAccount, newWebhook, receiverEndpoint } from "./support/helpers";
import { records, recordsD1Of, sweeperFor } from "./support/records";
import { shardCount, shardOf, shardScope } from "../src/db/shards";
import { applyRetention } from "../src/dispatch/retention";
import { UsageMeter } from "../src/metrics/usage-meter";

const DAY = 86_400_000;


async function insertAttempt(webhookId: string, accountId: string, eventId: string, startedAt: number) {
  await recordsD1Of(accountId).prepare(
    "INSERT INTO delivery_attempts (webhook_id, delivery_id, attempt, id, account_id, event_id, event_type, status, trigger, started_at, duration_ms) VALUES (?, ?, 1, 'att_x', ?, ?, 'sample.scored', 'succeeded', 'scheduled', ?, 5)",
  )
    .bind(webhookId, deliveryId(eventId, webhookId), accountId, eventId, startedAt)
    .run();
}

describe("retention", () => {
  it("deletes attempts and dispatched events older than RETENTION_DAYS, keeps newer ones and anything pending", async () => {
    const account = await newAccount();
    const hook = await newWebhook(account.key, { url: receiverEndpoint().url });
    const now = Date.now();
    const old = await insertEvent(account.id, { createdAt: now - 40 * DAY, status: "dispatched" });
    const oldPending = await insertEvent(account.id, { createdAt: now - 40 * DAY, status: "pending" });
    const recent = await insertEvent(account.id, { createdAt: now - 2 * DAY, status: "dispatched" });
    await insertAttempt(hook.id, account.id, old, now - 40 * DAY);
    await insertAttempt(hook.id, account.id, recent, now - 2 * DAY);

    const sweeper = await sweeperFor(account.id, { name: "retention-test" });
    const result = await sweeper.retain(now);
    expect(result).toEqual({ attempts: 1, packs: 0, events: 1, receipts: 0, caughtUp: true });
    const ids = (await records.prepare("SELECT id FROM events WHERE account_id = ?").bind(account.id).all<{ id: string }>()).results.map((r) => r.id);
    expect(ids.sort()).toEqual([oldPending, recent].sort());
    expect((await call("GET", `/v1/deliveries/${deliveryId(old, hook.id)}`, { key: account.key })).status).toBe(404);
    expect((await call("GET", `/v1/deliveries/${deliveryId(recent, hook.id)}`, { key: account.key })).status).toBe(200);
    // Nothing more to delete: a second run is a no-op.
    expect(await sweeper.retain(now)).toEqual({ attempts: 0, packs: 0, events: 0, receipts: 0, caughtUp: true });
  });

  it("keeps deleting batch after batch until caught up; out of time, the next run goes on", async () => {
    const account = await newAccount();
    const hook = await newWebhook(account.key, { url: receiverEndpoint().url });
    const now = Date.now();
    const d1 = recordsD1Of(account.id);
    // 1 200 old dispatched events, each with one attempt: more than two batches of each.
    await d1
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
         INSERT INTO events (account_id, id, type, created_at, data, metadata, status)
         SELECT ?, 'evt_00000' || printf('%021d', i), 'sample.scored', ?, '{}', '{}', 'dispatched' FROM n`,
      )
      .bind(account.id, now - 40 * DAY)
      .run();
    await d1
      .prepare(
        `INSERT INTO delivery_attempts (webhook_id, delivery_id, attempt, id, account_id, event_id, event_type, status, trigger, started_at, duration_ms)
         SELECT ?, 'dlv_00000' || substr(id, 10) || 'x', 1, 'att_x', account_id, id, type, 'succeeded', 'scheduled', ?, 5 FROM events WHERE account_id = ?`,
      )
      .bind(hook.id, now - 40 * DAY, account.id)
      .run();
    const count = (table: string) => records.count(`SELECT count(*) AS n FROM ${table} WHERE account_id = ?`, account.id);
    expect([await count("events"), await count("delivery_attempts")]).toEqual([1200, 1200]);

    // No time at all: one batch each, and it says it is not done.
    const partial = await applyRetention(shardScope(env, shardOf(account.id, shardCount(env)), new UsageMeter()), 30, now, 0);
    expect(partial).toEqual({ attempts: 500, packs: 0, events: 500, receipts: 0, caughtUp: false });
    // The sweeper's run (ten seconds of budget) takes the rest.
    const sweeper = await sweeperFor(account.id, { name: "retention-backlog" });
    expect(await sweeper.retain(now)).toEqual({ attempts: 700, packs: 0, events: 700, receipts: 0, caughtUp: true });
    expect([await count("events"), await count("delivery_attempts")]).toEqual([0, 0]);
  });
});
