import { sweeperFor } from "./support/records";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventMessage } from "../src/dispatch/messages";
import worker from "../src/index";
import { call, insertEvent, newAccount, newWebhook, receiverEndpoint, waitForReceived } from "./support/helpers";

describe("dead letters", () => {
  it("mark the event dead_lettered, list it, leave it to replay, and replay delivers it", async () => {
    const account = await newAccount();
    const ep = receiverEndpoint("dlq");
    const hook = await newWebhook(account.key, { url: ep.url });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    const eventId = await insertEvent(account.id);
    const batch = createMessageBatch("rubric-events-dlq", [{ id: "d1", timestamp: new Date(), attempts: 11, body: eventMessage(account.id, eventId) }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["d1"]);

    const listed = (await call("GET", "/v1/events?status=dead_lettered", { key: account.key })).json.data;
    expect(listed.map((e: any) => [e.id, e.status])).toEqual([[eventId, "dead_lettered"]]);
    // The sweeper only looks at pending events.
    expect(await (await sweeperFor(account.id, { name: "dlq-test" })).sweep(Date.now() + 3_600_000)).toBe(0);

    const replay = await call("POST", `/v1/events/${eventId}/replay`, { key: account.key, body: {} });
    expect(replay.status).toBe(202);
    const [got] = await waitForReceived(ep.name, 1);
    expect(JSON.parse(got!.body).id).toBe(eventId);
    expect((await call("GET", `/v1/events/${eventId}`, { key: account.key })).json.status).toBe("dispatched");
  });
});
