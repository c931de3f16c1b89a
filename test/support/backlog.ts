import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { EndpointQueue } from "../../src/dispatch/endpoint-queue";
import { received, webhookWithEvents } from "./helpers";

/**
 * A webhook whose object holds `n` stored deliveries and whose alarm is
 * `alarm` (null: none): how a backlog looks after a restart, when the alarm a
 * killed runtime set is kept in storage but never fires. Checks that nothing
 * else sends them.
 */
export async function heldBacklog(label: string, n: number, alarm: number | null) {
  const { account, ep, hook, events, stub, ids } = await webhookWithEvents(label, n);
  await runInDurableObject(stub, async (object, state) => {
    (object as unknown as { ep: { queue: EndpointQueue } }).ep.queue.store(ids, "scheduled");
    if (alarm === null) await state.storage.deleteAlarm();
    else await state.storage.setAlarm(alarm);
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(await received(ep.name)).toEqual([]);
  return { account, ep, hook, events, stub };
}
