import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryId } from "../src/lib/ids";
import { call, newAccount, newWebhook, plan, receiverEndpoint, received, waitFor, waitForReceived, webhookWithEvents } from "./support/helpers";
import { records } from "./support/records";

interface AnswerStat {
  started_at: number;
  ended_at: number | null;
}

/** How each answer to `name` went (start and end, as the receiver saw them). */
async function stats(name: string): Promise<AnswerStat[]> {
  return (await fetch(`${env.RECEIVER_URL}/_stats/${name}`)).json();
}

/** The most requests the receiver was answering at the same moment. */
function maxConcurrent(answers: AnswerStat[]): number {
  return Math.max(...answers.map((a) => answers.filter((b) => b.started_at <= a.started_at && a.started_at < (b.ended_at ?? Infinity)).length));
}

/** A webhook with `n` dispatched events (see webhookWithEvents) and a call that hands them all to its object. */
async function setUp(label: string, webhook: Record<string, unknown>, n: number) {
  const t = await webhookWithEvents(label, n, webhook);
  const enqueue = () => t.stub.enqueue(t.ids);
  return { ...t, enqueue };
}

/** When the object started each attempt at the webhook's deliveries, in order. */
/**
 * The start times of a webhook's attempt records, once `count` are written: the
 * object batches its records, so the last ones land shortly after the receiver
 * saw the deliveries.
 */
async function attemptStarts(webhookId: string, count: number): Promise<number[]> {
  const read = async () =>
    (await records.prepare("SELECT started_at FROM all_attempts WHERE webhook_id = ? ORDER BY started_at").bind(webhookId).all<{ started_at: number }>()).results.map((r) => r.started_at);
  await waitFor(async () => (await read()).length >= count, 5000, `${count} attempt records`);
  return read();
}

/**
 * Starts at least `interval` apart on average, and none much closer (the
 * start is stamped a few ms after the pacer's slot, by a varying amount).
 */
function expectSpaced(starts: number[], interval: number) {
  expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual((starts.length - 1) * interval - 20);
  for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(interval * 0.8);
}

const eventIdsOf = (got: Array<{ headers: Record<string, string> }>) => got.map((g) => g.headers["x-rubric-event-id"]);

describe("ordering: parallel", () => {
  it("keeps up to max_in_flight attempts in flight, never more", async () => {
    const t = await setUp("par3", { ordering: "parallel", max_in_flight: 3 }, 9);
    await plan(t.ep.name, { delay_ms: 400 });
    await t.enqueue();
    await waitForReceived(t.ep.name, 9, 15_000);
    await waitFor(async () => (await stats(t.ep.name)).every((s) => s.ended_at !== null), 5000, "every answer to end");
    expect(maxConcurrent(await stats(t.ep.name))).toBe(3);
    expect(new Set(eventIdsOf(await received(t.ep.name)))).toEqual(new Set(t.events));
    await waitFor(async () => (await t.stub.stats()).backlog === 0, 5000, "an empty queue");
  });

  it("FIFO sends one at a time whatever max_in_flight says", async () => {
    const t = await setUp("fifo1", { ordering: "fifo", max_in_flight: 6 }, 5);
    await plan(t.ep.name, { delay_ms: 200 });
    await t.enqueue();
    expect(eventIdsOf(await waitForReceived(t.ep.name, 5, 15_000))).toEqual(t.events);
    await waitFor(async () => (await stats(t.ep.name)).every((s) => s.ended_at !== null), 5000, "every answer to end");
    expect(maxConcurrent(await stats(t.ep.name))).toBe(1);
  });

  it("does not hold later events back behind a retry", async () => {
    const t = await setUp("parretry", { ordering: "parallel", max_in_flight: 1, retry_config: { schedule_ms: [1500] } }, 4);
    await plan(t.ep.name, { fail_times: 1 });
    await t.enqueue();
    const got = await waitForReceived(t.ep.name, 5, 10_000);
    // The first event failed, the other three went through at once, then the first event's retry.
    expect(eventIdsOf(got)).toEqual([t.events[0], t.events[1], t.events[2], t.events[3], t.events[0]]);
    expect(got.map((g) => g.answered)).toEqual([500, 200, 200, 200, 200]);
    // Retries carry ±20 % jitter: the retry comes at 1.2–1.8 s, the others long before.
    expect(got[4]!.received_at - got[0]!.received_at).toBeGreaterThanOrEqual(1100);
    expect(got[3]!.received_at - got[0]!.received_at).toBeLessThan(got[4]!.received_at - got[0]!.received_at);
    for (const e of t.events) {
      const d = await call("GET", `/v1/deliveries/${deliveryId(e, t.hook.id)}`, { key: t.account.key });
      expect(d.json.status).toBe("succeeded");
    }
  });

  it("switching a backlogged FIFO webhook to parallel frees what waited behind a retry, and loses nothing", async () => {
    const t = await setUp("switch", { retry_config: { schedule_ms: [5000] } }, 4);
    await plan(t.ep.name, { fail_times: 1 });
    await t.enqueue();
    await waitForReceived(t.ep.name, 1);
    await new Promise((r) => setTimeout(r, 400));
    // FIFO: the three behind the failed one wait for its retry.
    expect(await received(t.ep.name)).toHaveLength(1);
    expect((await t.stub.stats()).backlog).toBe(4);
    const res = await call("PATCH", `/v1/webhooks/${t.hook.id}`, { key: t.account.key, body: { ordering: "parallel" } });
    expect(res.status).toBe(200);
    expect(res.json.ordering).toBe("parallel");
    const got = await waitForReceived(t.ep.name, 4, 3000);
    const failedAt = got[0]!.received_at;
    expect(eventIdsOf(got)).toEqual([t.events[0], t.events[1], t.events[2], t.events[3]]);
    expect(got[3]!.received_at - failedAt).toBeLessThan(3000);
    // The failed one is retried on its own schedule (5 s ± 20 % jitter), not early.
    const all = await waitForReceived(t.ep.name, 5, 8000);
    expect(all[4]!.headers["x-rubric-event-id"]).toBe(t.events[0]);
    expect(all[4]!.received_at - failedAt).toBeGreaterThanOrEqual(3900);
    await waitFor(async () => (await t.stub.stats()).backlog === 0, 5000, "an empty queue");
  });
});

describe("rate_limit_per_second", () => {
  it("spaces attempts evenly, keeps FIFO order and drops nothing", async () => {
    const t = await setUp("rate", { rate_limit_per_second: 4 }, 10);
    await t.enqueue();
    const got = await waitForReceived(t.ep.name, 10, 15_000);
    expect(eventIdsOf(got)).toEqual(t.events);
    // 4 per second: one start every 250 ms, as the object started them (its attempt records)...
    const starts = await attemptStarts(t.hook.id, 10);
    expect(starts).toHaveLength(10);
    expectSpaced(starts, 250);
    // ...and as the receiver saw them (network jitter allowed): never 5 within a second.
    for (let i = 0; i + 4 < got.length; i++) expect(got[i + 4]!.received_at - got[i]!.received_at).toBeGreaterThanOrEqual(900);
    await waitFor(async () => (await t.stub.stats()).backlog === 0, 5000, "an empty queue");
    expect(await received(t.ep.name)).toHaveLength(10);
  });

  it("limits parallel mode too, with every delivery arriving", async () => {
    const t = await setUp("rate-par", { ordering: "parallel", max_in_flight: 6, rate_limit_per_second: 5 }, 8);
    await t.enqueue();
    const got = await waitForReceived(t.ep.name, 8, 15_000);
    expect(new Set(eventIdsOf(got))).toEqual(new Set(t.events));
    const starts = await attemptStarts(t.hook.id, 8);
    expect(starts).toHaveLength(8);
    expectSpaced(starts, 200);
    const times = got.map((g) => g.received_at).sort((a, b) => a - b);
    for (let i = 0; i + 5 < times.length; i++) expect(times[i + 5]! - times[i]!).toBeGreaterThanOrEqual(900);
  });

  it("can be set, changed and removed through the API", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("rate-api");
    const hook = await newWebhook(key, { url: ep.url, rate_limit_per_second: 10, ordering: "parallel", max_in_flight: 2 });
    expect(hook).toMatchObject({ rate_limit_per_second: 10, ordering: "parallel", max_in_flight: 2 });
    const changed = await call("PATCH", `/v1/webhooks/${hook.id}`, { key, body: { rate_limit_per_second: null, max_in_flight: 4 } });
    expect(changed.json).toMatchObject({ rate_limit_per_second: null, max_in_flight: 4, ordering: "parallel" });
    const bad = await call("PATCH", `/v1/webhooks/${hook.id}`, { key, body: { rate_limit_per_second: 0 } });
    expect(bad.status).toBe(422);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key })).json.rate_limit_per_second).toBeNull();
  });
});
