/**
 * Wakes every active webhook's endpoint object, so that each re-arms the alarm
 * for what it holds. The sweeper runs this once per instance, i.e. after every
 * start of the runtime: an alarm a killed runtime set does not fire in the next
 * one (alarm-liveness.ts), and a FIFO backlog whose events were all fanned out
 * has nothing else that would bring it back. One small RPC per active webhook
 * (disabled ones hold until `enable`, which resumes them; deleted ones hold nothing).
 */
import { and, asc, eq, gt } from "drizzle-orm";
import type { ShardScope } from "../db/shards";
import { webhooks } from "../db/schema";
import { inLanes } from "./lanes";

/** Webhooks read per page, and objects woken at once. */
const PAGE = 200;
const CONCURRENCY = 16;

/** Wakes the objects; returns how many webhooks were looked at and how many of their objects held deliveries. */
export async function wakeEndpoints(env: Env, scope: ShardScope): Promise<{ webhooks: number; holding: number }> {
  let after = "";
  let seen = 0;
  let holding = 0;
  for (;;) {
    const page = await scope.control
      .select({ id: webhooks.id, accountId: webhooks.accountId })
      .from(webhooks)
      .where(and(eq(webhooks.status, "active"), gt(webhooks.id, after)))
      .orderBy(asc(webhooks.id))
      .limit(PAGE);
    // Each shard's sweeper wakes the objects of the accounts it holds.
    const mine = page.filter((h) => scope.holds(h.accountId));
    let next = 0;
    await inLanes(CONCURRENCY, () => mine[next++]?.id, async (id) => {
      // One object that cannot be reached must not keep the others asleep.
      const held = await env.ENDPOINT.get(env.ENDPOINT.idFromName(id))
        .wake()
        .catch((err: unknown) => (console.error(`endpoint ${id}: wake failed`, err), false));
      if (held) holding += 1;
    });
    seen += mine.length;
    if (page.length < PAGE) return { webhooks: seen, holding };
    after = page.at(-1)!.id;
  }
}
