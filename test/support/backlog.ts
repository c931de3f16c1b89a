import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { EndpointQueue } from "../../src/dispatch/endpoint-queue";
import { deliveryId } from "../../src/lib/ids";
import { insertEvent, newAccount, newWebhook, receiverEndpoint, received } from "./helpers";

/**
 * A webhook whose object holds `n` stored deliveries and whose alarm is
 * `alarm` (null: none): how a backlog looks after a restart, when the alarm a
 * killed runtime set is kept in storage but never fires. Checks that nothing
 * else sends them.
 */
export async function heldBacklog(label: string, n: number, alarm: number | null) {
  const account = await newAccount();
  const ep = receiverEndpoint(label);
  const hook = await newWebhook(account.key, { url: ep.url });
  await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
  const now = Date.now();
  const events: string[] = [];
  for (let i = 0; i < n; i++) events.push(await insertEvent(account.id, { createdAt: now + i, status: "dispatched" }));
  const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
  await runInDurableObject(stub, async (object, state) => {
    (object as unknown as { ep: { queue: EndpointQueue } }).ep.queue.store(events.map((e) => deliveryId(e, hook.id)), "scheduled");
    if (alarm === null) await state.storage.deleteAlarm();
    else await state.storage.setAlarm(alarm);
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(await received(ep.name)).toEqual([]);
  return { account, ep, hook, events, stub };
}
