import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fanOut } from "../src/dispatch/fan-out";
import { insertEvent, newAccount, newWebhook, receiverEndpoint, received, waitForReceived } from "./support/helpers";

const eventIdsOf = (got: Array<{ headers: Record<string, string> }>) => got.map((g) => g.headers["x-rubric-event-id"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An account with webhooks (created long ago) for the given subscriptions. */
async function setUp(hooks: Array<Record<string, unknown>>) {
  const account = await newAccount();
  const made = [];
  for (const h of hooks) {
    const ep = receiverEndpoint("fence");
    const hook = await newWebhook(account.key, { url: ep.url, ...h });
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
    made.push({ ep, hook });
  }
  return { account, hooks: made };
}

const fan = (accountId: string, ...eventIds: string[]) => fanOut(env, eventIds.map((eventId) => ({ accountId, eventId })));

describe("the FIFO fence", () => {
  it("holds a later event while an earlier one of the account is still pending, then sends both in order", async () => {
    const t = await setUp([{ events: ["*"] }]);
    const now = Date.now();
    const early = await insertEvent(t.account.id, { createdAt: now });
    const late = await insertEvent(t.account.id, { createdAt: now + 1 });
    // The late event's message arrives first (the early one's is lost, or in another batch).
    await fan(t.account.id, late);
    await sleep(400);
    expect(await received(t.hooks[0]!.ep.name)).toHaveLength(0);
    await fan(t.account.id, early);
    expect(eventIdsOf(await waitForReceived(t.hooks[0]!.ep.name, 2))).toEqual([early, late]);
  });

  it("lets the later event go once the earlier one is fanned out elsewhere, even if it was not for this endpoint", async () => {
    const t = await setUp([{ events: ["review.completed"] }]);
    const now = Date.now();
    const other = await insertEvent(t.account.id, { createdAt: now, type: "evaluation.completed" });
    const mine = await insertEvent(t.account.id, { createdAt: now + 1, type: "review.completed" });
    await fan(t.account.id, mine);
    await sleep(300);
    expect(await received(t.hooks[0]!.ep.name)).toHaveLength(0);
    // The other event is dispatched (it matched no webhook here): the fence lifts at the next look.
    await fan(t.account.id, other);
    expect(eventIdsOf(await waitForReceived(t.hooks[0]!.ep.name, 1, 8000))).toEqual([mine]);
  });

  it("does not hold back events of the same hand-over for each other", async () => {
    const t = await setUp([{ events: ["evaluation.completed"] }, { events: ["review.completed"] }]);
    const now = Date.now();
    const a = await insertEvent(t.account.id, { createdAt: now, type: "evaluation.completed" });
    const b = await insertEvent(t.account.id, { createdAt: now + 1, type: "review.completed" });
    await fan(t.account.id, a, b);
    // Sent inline, while the batch was being handed over: both have arrived when fan-out returns.
    expect(eventIdsOf(await received(t.hooks[0]!.ep.name))).toEqual([a]);
    expect(eventIdsOf(await received(t.hooks[1]!.ep.name))).toEqual([b]);
  });

  it("does not apply to parallel mode", async () => {
    const t = await setUp([{ events: ["*"], ordering: "parallel" }]);
    const now = Date.now();
    await insertEvent(t.account.id, { createdAt: now });
    const late = await insertEvent(t.account.id, { createdAt: now + 1 });
    await fan(t.account.id, late);
    expect(eventIdsOf(await received(t.hooks[0]!.ep.name))).toEqual([late]);
  });

  it("ignores events from before the webhook existed", async () => {
    const account = await newAccount();
    const old = await insertEvent(account.id, { createdAt: Date.now() - 60_000 });
    const ep = receiverEndpoint("fence-new");
    await newWebhook(account.key, { url: ep.url, events: ["*"] });
    const fresh = await insertEvent(account.id, { createdAt: Date.now() + 5 });
    await fan(account.id, fresh);
    expect(eventIdsOf(await received(ep.name))).toEqual([fresh]);
    expect(old).toBeTruthy();
  });
});
