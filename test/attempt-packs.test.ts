// Attempt packs (db/attempt-packs.ts): a flush's first-try successes are one row, and every reader
// sees their entries exactly as it would see rows of their own.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isPackable, PACK_MAX_BYTES, PACK_SPAN_MS, packAttempts, type AttemptValues } from "../src/db/attempt-packs";
import { activity, hourlyByWebhook } from "../src/dashboard/stats";
import { createDb } from "../src/db/client";
import { latestAttempts, latestAttemptsOf, type AttemptRow } from "../src/db/delivery-queries";
import { attemptPacks, deliveryAttempts } from "../src/db/schema";
import { lastAttemptedEventId } from "../src/dispatch/fifo-fence";
import { applyRetention } from "../src/dispatch/retention";
import { shardIndexOf, shardScope } from "../src/db/shards";
import { deliveryId, idFloor, idGenerator } from "../src/lib/ids";
import { UsageMeter } from "../src/metrics/usage-meter";
import { call, received, waitFor, waitForReceived, webhookWithEvents } from "./support/helpers";
import { records, recordsD1Of } from "./support/records";

const WEBHOOK = "wh_01JZZZZZZZZZZZZZZZZZZZZZZZ";

/** Attempt values of `webhookId`'s delivery of an event made at `ms` (a first-try success unless told otherwise). */
function values(ms: number, over: Partial<AttemptValues> = {}, webhookId = WEBHOOK): AttemptValues {
  const eventId = idGenerator(() => ms)("evt");
  return {
    webhookId,
    deliveryId: deliveryId(eventId, webhookId),
    attempt: 1,
    id: idGenerator(() => ms)("att"),
    accountId: "acct_test",
    eventId,
    eventType: "sample.scored",
    status: "succeeded",
    trigger: "scheduled",
    startedAt: ms + 5,
    durationMs: 12,
    requestHeaders: [2, "v1,sig"] as unknown as AttemptValues["requestHeaders"],
    responseCode: 200,
    responseHeaders: { "content-type": "application/json" },
    responseBody: '{"ok":true}',
    error: null,
    nextAttemptAt: null,
    traceParent: null,
    ...over,
  };
}

const physicalRows = async (webhookId: string) =>
  (await records.count("SELECT count(*) AS n FROM delivery_attempts WHERE webhook_id = ?", webhookId)) +
  (await records.count("SELECT count(*) AS n FROM attempt_packs WHERE webhook_id = ?", webhookId));

describe("packing", () => {
  it("packs first-try scheduled successes per webhook, in delivery order; the rest, and a run of one, stay rows", () => {
    const t = 1_800_000_000_000;
    const other = "wh_01JYYYYYYYYYYYYYYYYYYYYYYY";
    const ok = [values(t + 2), values(t), values(t + 1)];
    const notPackable = [
      values(t + 3, { status: "retrying", nextAttemptAt: t + 60_000, responseCode: 503 }),
      values(t + 4, { attempt: 2 }),
      values(t + 5, { trigger: "manual" }),
      values(t + 6, { trigger: "test" }),
      values(t + 7, { status: "failed" }),
    ];
    const lone = values(t + 8, {}, other);
    const { packs, rows } = packAttempts([...ok, ...notPackable, lone, ok[0]!]);
    expect(notPackable.every((v) => !isPackable(v))).toBe(true);
    expect(packs).toHaveLength(1);
    const [p] = packs;
    const sorted = [...ok].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : 1));
    expect(p).toMatchObject({ webhookId: WEBHOOK, firstId: sorted[0]!.deliveryId, lastId: sorted[2]!.deliveryId, id: sorted[0]!.id, n: 3, accountId: "acct_test" });
    // The repeated record of the same delivery is packed once.
    expect((JSON.parse(p!.items) as unknown[][]).map((e) => e[0])).toEqual(sorted.map((v) => v.deliveryId));
    expect(JSON.parse(p!.items)[0]).toEqual([sorted[0]!.deliveryId, sorted[0]!.id, "sample.scored", t + 5, 12, [2, "v1,sig"], 200, { "content-type": "application/json" }, '{"ok":true}', null]);
    expect(rows.map((r) => r.deliveryId).sort()).toEqual([...notPackable, lone].map((v) => v.deliveryId).sort());
  });

  it("cuts a pack where its ids would span more than PACK_SPAN_MS of event time, or its entries PACK_MAX_BYTES", () => {
    const t = 1_800_000_000_000;
    const spread = [values(t), values(t + 1), values(t + PACK_SPAN_MS + 1), values(t + PACK_SPAN_MS + 2)];
    expect(packAttempts(spread).packs.map((p) => p.n)).toEqual([2, 2]);
    const big = Array.from({ length: 30 }, (_, i) => values(t + i, { responseBody: "x".repeat(5_000) }));
    const cut = packAttempts(big).packs;
    expect(cut.length).toBeGreaterThan(1);
    expect(cut.reduce((s, p) => s + p.n, 0)).toBe(30);
    for (const p of cut) expect(p.items.length).toBeLessThanOrEqual(PACK_MAX_BYTES);
  });
});

describe("packed attempts in the API", () => {
  it("a burst of first-try successes is a few rows, and every reader sees each attempt as it was sent", async () => {
    const n = 40;
    const { account, ep, hook, stub, ids, events } = await webhookWithEvents("packed", n);
    await stub.enqueue(ids);
    const got = await waitForReceived(ep.name, n, 20_000);
    await waitFor(async () => (await records.count("SELECT count(*) AS n FROM all_attempts WHERE webhook_id = ?", hook.id)) === n, 10_000, "every record");
    // Written in batches of at most 50 per flush: far fewer rows than attempts.
    expect(await physicalRows(hook.id)).toBeLessThanOrEqual(8);
    expect(await records.count("SELECT coalesce(sum(n), 0) AS n FROM attempt_packs WHERE webhook_id = ?", hook.id)).toBeGreaterThan(n / 2);

    // One delivery: its attempt, the headers rebuilt as sent (signature included).
    const sent = got.find((g) => g.headers["x-rubric-delivery-id"] === ids[7])!;
    const one = await call("GET", `/v1/deliveries/${ids[7]}`, { key: account.key });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: ids[7], webhook_id: hook.id, event_id: events[7], status: "succeeded", attempts: 1 });
    const [a] = one.json.attempt_log;
    expect(a).toMatchObject({ attempt: 1, response_code: 200, trigger: "scheduled" });
    expect(Object.keys(a.request_headers).length).toBeGreaterThan(5);
    for (const [name, value] of Object.entries(a.request_headers as Record<string, string>)) expect(sent.headers[name.toLowerCase()]).toBe(value);

    // The webhook's deliveries, in event order, page by page across packs.
    const seen: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 20; pages++) {
      const page: { status: number; json: any } = await call("GET", `/v1/webhooks/${hook.id}/deliveries?limit=7${cursor ? `&cursor=${cursor}` : ""}`, { key: account.key });
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((d: any) => d.id));
      expect(page.json.data.every((d: any) => d.status === "succeeded")).toBe(true);
      cursor = page.json.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(ids);

    // The event's deliveries, and the webhook's stats.
    const event = await call("GET", `/v1/events/${events[3]}`, { key: account.key });
    expect(event.json.deliveries).toMatchObject([{ id: ids[3], status: "succeeded" }]);
    const stats = await call("GET", `/v1/webhooks/${hook.id}/stats`, { key: account.key });
    expect(stats.json).toMatchObject({ deliveries: { succeeded: n, total: n }, attempts: n, success_rate: 1 });
    // The dashboard's aggregates count the packed attempts too.
    const records_ = createDb(recordsD1Of(account.id));
    const hourly = (await hourlyByWebhook(records_, account.id, [hook.id])).get(hook.id)!;
    expect(hourly.ok.reduce((a, b) => a + b, 0)).toBe(n);
    const { series, latency } = await activity(records_, account.id, [hook.id]);
    expect(series.succeeded.reduce((a, b) => a + b, 0)).toBe(n);
    expect(latency.count).toBe(n);

    // Handed over again: each is known to have succeeded, and none is sent twice.
    await stub.enqueue(ids);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(ep.name)).toHaveLength(n);
    // And the FIFO fence knows the last event this endpoint was sent.
    expect(await lastAttemptedEventId(createDb(recordsD1Of(account.id)), hook.id)).toBe(events.at(-1));
  });

  it("a manual retry of a packed delivery is its latest attempt, and both attempts are listed", async () => {
    const n = 6;
    const { account, ep, hook, stub, ids } = await webhookWithEvents("packed-retry", n);
    await stub.enqueue(ids);
    await waitForReceived(ep.name, n);
    await waitFor(async () => (await records.count("SELECT count(*) AS n FROM attempt_packs WHERE webhook_id = ?", hook.id)) > 0, 10_000, "a pack");
    const packed = (await records.prepare("SELECT delivery_id FROM packed_attempts WHERE webhook_id = ? ORDER BY delivery_id").bind(hook.id).all<{ delivery_id: string }>()).results[0]!.delivery_id;
    const retry = await call("POST", `/v1/deliveries/${packed}/retry`, { key: account.key });
    expect(retry.status).toBeLessThan(300);
    await waitForReceived(ep.name, n + 1);
    const latest = await waitFor(async () => {
      const r = await call("GET", `/v1/deliveries/${packed}`, { key: account.key });
      return r.json.attempts === 2 ? r.json : null;
    }, 10_000, "attempt 2");
    expect(latest.status).toBe("succeeded");
    const map = await latestAttemptsOf(createDb(recordsD1Of(account.id)), hook.id, [packed]);
    expect(map.get(packed)).toEqual({ attempt: 2, status: "succeeded", nextAttemptAt: null });
    const list = await call("GET", `/v1/webhooks/${hook.id}/deliveries?limit=100`, { key: account.key });
    expect(list.json.data.map((d: any) => d.id)).toEqual(ids);
    expect(list.json.data.find((d: any) => d.id === packed).attempts).toBe(2);
  });
});

describe("latestAttempts merges rows and packs", () => {
  it("pages through overlapping packs and rows in delivery order, with every filter, as one sorted list would", async () => {
    const accountId = "acct_packmerge";
    const webhookId = "wh_01JXXXXXXXXXXXXXXXXXXXXXXX";
    const db = createDb(recordsD1Of(accountId));
    const t = 1_800_000_000_000;
    // A seeded generator: the same history every run.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const all: AttemptValues[] = [];
    for (let i = 0; i < 400; i++) {
      const ms = t + Math.floor(i * 900 + rnd() * 900);
      all.push(values(ms, { accountId, eventType: rnd() < 0.3 ? "other.type" : "sample.scored" }, webhookId));
    }
    // Flushes as an object makes them: runs in arrival order, which is not quite event order.
    const shuffled = [...all].sort(() => rnd() - 0.5);
    const rows: AttemptValues[] = [];
    for (let i = 0; i < shuffled.length; i += 37) {
      const part = shuffled.slice(i, i + 37).sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : 1));
      // A run whose events are close in time packs; the rest of it is written as rows here.
      const near = part.filter((v) => Math.abs(Number(v.startedAt) - Number(part[0]!.startedAt)) <= PACK_SPAN_MS);
      const { packs, rows: left } = packAttempts(near);
      rows.push(...left, ...part.filter((v) => !near.includes(v)));
      for (const p of packs) await db.insert(attemptPacks).values(p);
    }
    // Some deliveries failed once and were retried by hand: their latest is attempt 2, a row.
    const retried = all.filter((_, i) => i % 23 === 0);
    for (const v of retried) rows.push({ ...v, attempt: 2, id: `${v.id}2`, trigger: "manual", status: "failed", responseCode: 500 });
    for (let i = 0; i < rows.length; i += 5) await db.insert(deliveryAttempts).values(rows.slice(i, i + 5));
    expect(await records.count("SELECT count(*) AS n FROM attempt_packs WHERE webhook_id = ?", webhookId)).toBeGreaterThan(5);

    const latestOf = new Map<string, { id: string; status: string; eventType: string; attempt: number }>();
    for (const v of [...all, ...rows]) {
      const had = latestOf.get(v.deliveryId);
      if (!had || v.attempt > had.attempt) latestOf.set(v.deliveryId, { id: v.deliveryId, status: v.status, eventType: v.eventType, attempt: v.attempt });
    }
    const expected = [...latestOf.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const filters = [
      {},
      { status: "succeeded" as const },
      { status: "failed" as const },
      { eventType: "other.type" },
      { sinceMs: t + 100_000, untilMs: t + 250_000 },
    ];
    for (const f of filters) {
      const want = expected
        .filter((e) => !f.status || e.status === f.status)
        .filter((e) => !("eventType" in f) || e.eventType === f.eventType)
        .filter((e) => !("sinceMs" in f) || (e.id >= idFloor("dlv", f.sinceMs!) && e.id < idFloor("dlv", f.untilMs!)))
        .map((e) => `${e.id}:${e.attempt}`);
      for (const limit of [1, 9, 50]) {
        const got: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 1000; pages++) {
          const page: AttemptRow[] = await latestAttempts(db, webhookId, limit, { ...f, cursor });
          got.push(...page.map((r) => `${r.deliveryId}:${r.attempt}`));
          if (page.length < limit) break;
          cursor = page.at(-1)!.deliveryId;
        }
        expect(got, `${JSON.stringify(f)} limit ${limit}`).toEqual(want);
      }
    }
  });
});

describe("one attempt in two packs", () => {
  it("(a write that committed but reported an error, written again with newer records) is shown once", async () => {
    const { account, hook, events } = await webhookWithEvents("packed-twice", 3);
    const t = Date.now();
    const at = (i: number) => values(t + i, { accountId: account.id, deliveryId: deliveryId(events[i]!, hook.id), eventId: events[i]! }, hook.id);
    const db = createDb(recordsD1Of(account.id));
    const [first] = packAttempts([at(0), at(1)]).packs;
    const [again] = packAttempts([at(0), at(1), at(2)]).packs;
    expect(again!.lastId).not.toBe(first!.lastId);
    for (const p of [first!, again!]) await db.insert(attemptPacks).values(p);
    const d = await call("GET", `/v1/deliveries/${deliveryId(events[0]!, hook.id)}`, { key: account.key });
    expect(d.json).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(d.json.attempt_log).toHaveLength(1);
    const list = await call("GET", `/v1/webhooks/${hook.id}/deliveries?limit=10`, { key: account.key });
    expect(list.json.data.map((x: any) => x.id)).toEqual(events.map((e) => deliveryId(e, hook.id)));
  });
});

describe("retention", () => {
  it("deletes a pack once its last delivery is past the cut-off, and keeps one that straddles it", async () => {
    const { account, ep, hook, stub, ids } = await webhookWithEvents("packed-retention", 4);
    await stub.enqueue(ids);
    await waitForReceived(ep.name, 4);
    await waitFor(async () => (await records.count("SELECT count(*) AS n FROM attempt_packs WHERE webhook_id = ?", hook.id)) > 0, 10_000, "a pack");
    const db = createDb(recordsD1Of(account.id));
    const t = Date.now() - 40 * 86_400_000;
    const old = packAttempts([values(t, { accountId: account.id }, hook.id), values(t + 1, { accountId: account.id }, hook.id)]).packs;
    const straddling = packAttempts([values(t + 5_000, { accountId: account.id }, hook.id), values(t + 40_000, { accountId: account.id }, hook.id)]).packs;
    for (const p of [...old, ...straddling]) await db.insert(attemptPacks).values(p);
    const scope = shardScope(env, shardIndexOf(env, account.id), new UsageMeter());
    // The cut-off falls between the straddling pack's two deliveries.
    const result = await applyRetention(scope, 30, t + 30 * 86_400_000 + 20_000);
    expect(result.packs).toBe(1);
    const left = (await records.prepare("SELECT first_id FROM attempt_packs WHERE webhook_id = ? ORDER BY last_id").bind(hook.id).all<{ first_id: string }>()).results;
    expect(left.map((r) => r.first_id)).toContain(straddling[0]!.firstId);
    expect(left.map((r) => r.first_id)).not.toContain(old[0]!.firstId);
    // Today's deliveries are all still there.
    expect(await records.count("SELECT count(*) AS n FROM all_attempts WHERE webhook_id = ? AND delivery_id IN (?, ?, ?, ?)", hook.id, ...ids)).toBe(4);
  });
});
