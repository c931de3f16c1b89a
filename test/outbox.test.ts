import { createMessageBatch, createExecutionContext, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { fanOut } from "../src/dispatch/fan-out";
import { eventMessage } from "../src/dispatch/messages";
import { insertEvent, newAccount, newWebhook, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";
import { makePending, outboxStatus, records, sweeperFor } from "./support/records";

const status = outboxStatus;

describe("the outbox", () => {
  it("sweeper re-enqueues an event whose queue message was lost, and it is delivered", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("lost");
    const hook = await newWebhook(account.key, { url: ep.url });
    const eventId = await insertEvent(account.id, { data: { lost: true } });
    // The webhook must predate the event; move it back in time.
    await env.DB.prepare("UPDATE webhooks SET created_at = created_at - 120000 WHERE id = ?").bind(hook.id).run();
    expect(await status(eventId)).toBe("pending");

    const sweeper = await sweeperFor(account.id);
    // Creating a webhook armed the sweeper's alarm; running it sweeps (SWEEP_AFTER_SECONDS is 0 in tests).
    expect(await runDurableObjectAlarm(sweeper)).toBe(true);
    const [got] = await waitForReceived(ep.name, 1);
    expect(got!.headers["x-rubric-event-id"]).toBe(eventId);
    await waitFor(async () => (await status(eventId)) === "dispatched");
    // The alarm re-arms itself, so the sweeper keeps running.
    expect(await runInDurableObject(sweeper, (_o, state) => state.storage.getAlarm())).not.toBeNull();
    // Nothing pending is left to sweep.
    expect(await sweeper.sweep()).toBe(0);
  });

  it("fans the same event out once however often it is processed", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("dup");
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const eventId = await insertEvent(account.id, { createdAt: Date.now() - 60_000, data: { lost: true } });
    // Two consumers race on duplicate messages, and the event is reset to pending as if the first run died.
    const ref = { accountId: account.id, eventId };
    await Promise.all([fanOut(env, [ref]), fanOut(env, [ref])]);
    await makePending(eventId);
    await fanOut(env, [ref]);
    await waitForReceived(ep.name, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(ep.name)).toHaveLength(1);
    const rows = await records.prepare("SELECT * FROM all_attempts WHERE event_id = ?").bind(eventId).all();
    expect(rows.results).toHaveLength(1);
  });

  it("does not deliver an event to a webhook created after it", async () => {
    const account = await newAccount();
    const eventId = await insertEvent(account.id, { createdAt: Date.now() - 60_000, data: { lost: true } });
    const ep = receiverEndpoint("late");
    await newWebhook(account.key, { url: ep.url });
    await fanOut(env, [{ accountId: account.id, eventId }]);
    expect(await status(eventId)).toBe("dispatched");
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(ep.name)).toEqual([]);
  });

  it("consumer acks processed and malformed messages", async () => {
    const account = await newAccount();
    const eventId = await insertEvent(account.id, { createdAt: Date.now() - 60_000, data: { lost: true } });
    const batch = createMessageBatch("rubric-events", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: eventMessage(account.id, eventId) },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { v: 1, kind: "event", account_id: account.id, event_id: "not-an-id" } },
      { id: "m3", timestamp: new Date(), attempts: 1, body: "garbage" },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2", "m3"]);
    expect(result.retryMessages).toEqual([]);
    expect(await status(eventId)).toBe("dispatched");
  });
});
