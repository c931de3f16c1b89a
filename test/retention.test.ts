import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryId } from "../src/lib/ids";
import { call, insertEvent, newAccount, newWebhook, receiverEndpoint } from "./support/helpers";
import { records, recordsD1Of, sweeperFor } from "./support/records";

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
    expect(result).toEqual({ attempts: 1, events: 1 });
    const ids = (await records.prepare("SELECT id FROM events WHERE account_id = ?").bind(account.id).all<{ id: string }>()).results.map((r) => r.id);
    expect(ids.sort()).toEqual([oldPending, recent].sort());
    expect((await call("GET", `/v1/deliveries/${deliveryId(old, hook.id)}`, { key: account.key })).status).toBe(404);
    expect((await call("GET", `/v1/deliveries/${deliveryId(recent, hook.id)}`, { key: account.key })).status).toBe(200);
    // Nothing more to delete: a second run is a no-op.
    expect(await sweeper.retain(now)).toEqual({ attempts: 0, events: 0 });
  });
});
