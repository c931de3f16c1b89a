// The delivery path under storage that fails for a moment (issue 16 part 5): D1 and the endpoint
// object's own storage throw "SQLITE_BUSY" / "Network connection lost" on purpose, and still every
// delivery arrives once, is recorded, and nothing escapes alarm() while an alarm will come back.
import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import type { Endpoint } from "../src/dispatch/endpoint-parts";
import { fanOut } from "../src/dispatch/fan-out";
import { eventMessage } from "../src/dispatch/messages";
import { deliveryId } from "../src/lib/ids";
import worker from "../src/index";
import { type Fault, faultyBatchD1, faultyD1 } from "./support/faults";
import { insertEvent, newAccount, plan, received, waitFor, waitForReceived, webhookWithEvents } from "./support/helpers";
import { makePending, outboxStatus, records, recordsD1Of, shardBindingOf, sweeperFor } from "./support/records";

type Stub = DurableObjectStub<import("../src/dispatch/endpoint-dispatcher").EndpointDispatcher>;

/** The endpoint object's parts (tests reach into it the way transport-seam.test.ts does). */
const partsOf = (object: unknown) => (object as { ep: Endpoint }).ep;

/** Makes the object's attempt records go through a D1 binding (the account's shard) whose batches fail as `fault` says. */
async function faultyRecords(stub: Stub, accountId: string, fault: Fault) {
  const { db, counter } = faultyBatchD1(recordsD1Of(accountId), fault);
  await runInDurableObject(stub, (object) => {
    (partsOf(object).records as unknown as { recordsOf: unknown }).recordsOf = () => createDb(db);
  });
  return counter;
}

/** A webhook with `n` dispatched events owed to it (see webhookWithEvents), its object's stub typed for RPC. */
async function setUp(label: string, n = 1, webhook: Record<string, unknown> = {}) {
  const t = await webhookWithEvents(label, n, webhook);
  return { ...t, stub: t.stub as Stub };
}

/** Puts deliveries in the object's stored queue, as a hand-over to a busy object does, with an alarm the test runs. */
async function storeAndArm(stub: Stub, ids: string[]) {
  await runInDurableObject(stub, async (object, state) => {
    partsOf(object).queue.store(ids, "scheduled");
    // Far enough out not to fire by itself; runDurableObjectAlarm runs it now.
    await state.storage.setAlarm(Date.now() + 60_000);
  });
}

const attempts = async (hookId: string) =>
  (
    await records.prepare("SELECT delivery_id, attempt, status FROM all_attempts WHERE webhook_id = ? ORDER BY delivery_id, attempt")
      .bind(hookId)
      .all<{ delivery_id: string; attempt: number; status: string }>()
  ).results;

const backlog = (stub: Stub) => runInDurableObject(stub, (object) => partsOf(object).queue.length());
const alarmAt = (stub: Stub) => runInDurableObject(stub, (_o, state) => state.storage.getAlarm());

describe("the endpoint object under storage faults", () => {
  it("attempt records that cannot be written (D1 down past the retries) are not a reason to send a success again", async () => {
    const { account, ep, hook, ids, stub } = await setUp("records-down");
    // 8 failures: the drain's flush (4 tries) and the one after the error (4 more) both fail.
    const counter = await faultyRecords(stub, account.id, { times: 8, message: "D1_ERROR: Network connection lost." });
    await storeAndArm(stub, ids);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await attempts(hook.id)).toEqual([]);
    // Still queued (the round was not settled) and the alarm will look again.
    expect(await backlog(stub)).toBe(1);
    expect(await alarmAt(stub)).not.toBeNull();

    // D1 is back: the next run writes the record it kept and does not send again.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await received(ep.name)).toHaveLength(1);
    expect(counter.failed).toBe(8);
    expect(await attempts(hook.id)).toEqual([{ delivery_id: ids[0], attempt: 1, status: "succeeded" }]);
    expect(await backlog(stub)).toBe(0);
  });

  it("a flush that fails for a moment is repeated on the spot: one attempt, recorded at once", async () => {
    const { account, ep, hook, ids, stub } = await setUp("records-busy");
    const counter = await faultyRecords(stub, account.id, { times: 2, message: "SQLITE_BUSY: database is locked" });
    await storeAndArm(stub, ids);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(counter.failed).toBe(2);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await attempts(hook.id)).toEqual([{ delivery_id: ids[0], attempt: 1, status: "succeeded" }]);
    expect(await backlog(stub)).toBe(0);
  });

  it("a hand-over whose records cannot be written fails, so the consumer retries the message; the retry writes them and sends nothing twice", async () => {
    const { account, ep, hook, events, stub } = await setUp("handover-records");
    await makePending(events[0]!);
    const counter = await faultyRecords(stub, account.id, { times: 8, message: "D1_ERROR: Network connection lost." });
    const ref = { accountId: account.id, eventId: events[0]! };
    // Sent inline, but not recorded: the event must not be marked dispatched yet.
    expect([...(await fanOut(env, [ref]))]).toEqual([events[0]]);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await outboxStatus(events[0]!)).toBe("pending");
    // The object keeps trying (its inline job's own flush) until the fault is spent; a message retry waits ≥ 2 s anyway.
    await waitFor(async () => counter.failed === 8, 5000, "the fault to be spent");
    // The message comes back: the record is written, the event dispatched, the receiver not called again.
    expect([...(await fanOut(env, [ref]))]).toEqual([]);
    expect(await attempts(hook.id)).toEqual([{ delivery_id: deliveryId(events[0]!, hook.id), attempt: 1, status: "succeeded" }]);
    expect(await outboxStatus(events[0]!)).toBe("dispatched");
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(ep.name)).toHaveLength(1);
    expect(await backlog(stub)).toBe(0);
  });

  it("object storage failing after the request went out (the failure clock) does not lose the attempt or send it again", async () => {
    const { ep, hook, ids, stub } = await setUp("clock-busy");
    await runInDurableObject(stub, (_o, state) => {
      const get = state.storage.get.bind(state.storage);
      let failures = 1;
      (state.storage as { get: unknown }).get = (...args: Parameters<typeof get>) => {
        if (failures-- > 0) return Promise.reject(new Error("SQLITE_BUSY: database is locked"));
        return get(...args);
      };
    });
    await stub.enqueue(ids);
    await waitForReceived(ep.name, 1);
    await waitFor(async () => (await attempts(hook.id)).length > 0, 5000, "the attempt record");
    expect(await attempts(hook.id)).toEqual([{ delivery_id: ids[0], attempt: 1, status: "succeeded" }]);
    // Whatever alarm is left finds nothing to send again.
    if (await alarmAt(stub)) await runDurableObjectAlarm(stub);
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(ep.name)).toHaveLength(1);
    expect(await backlog(stub)).toBe(0);
  });

  it("setAlarm refused past its retries: alarm() does not throw while the round's lease will come back, and the retry is delivered", async () => {
    const { ep, hook, ids, stub } = await setUp("alarm-refused", 1, { retry_config: { max_retries: 3, backoff: "fixed", initial_delay_ms: 100 } });
    await plan(ep.name, { fail_times: 1 });
    await storeAndArm(stub, ids);
    // Every setAlarm after the first (the round's lease) fails: the retry's alarm, then the back-off.
    await runInDurableObject(stub, (_o, state) => {
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      let calls = 0;
      (state.storage as { setAlarm: unknown }).setAlarm = (...args: Parameters<typeof setAlarm>) => {
        calls += 1;
        return calls === 1 ? setAlarm(...args) : Promise.reject(new Error("SQLITE_BUSY: database is locked"));
      };
    });
    await expect(runDurableObjectAlarm(stub)).resolves.toBe(true);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await attempts(hook.id)).toEqual([{ delivery_id: ids[0], attempt: 1, status: "retrying" }]);
    // The lease (about 35 s out) is what comes back; storage works again by then.
    const lease = await alarmAt(stub);
    expect(lease).toBeGreaterThan(Date.now() + 20_000);
    await runInDurableObject(stub, (_o, state) => {
      delete (state.storage as { setAlarm?: unknown }).setAlarm;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await received(ep.name)).toHaveLength(2);
    expect(await attempts(hook.id)).toEqual([
      { delivery_id: ids[0], attempt: 1, status: "retrying" },
      { delivery_id: ids[0], attempt: 2, status: "succeeded" },
    ]);
    expect(await backlog(stub)).toBe(0);
  });

  it("setAlarm refused with no alarm left to come back: alarm() fails, so the runtime's retry of it is the way back; nothing is lost or sent twice", async () => {
    const { ep, hook, ids, stub } = await setUp("alarm-none");
    await storeAndArm(stub, ids);
    await runInDurableObject(stub, (_o, state) => {
      (state.storage as { setAlarm: unknown }).setAlarm = () => Promise.reject(new Error("SQLITE_BUSY: database is locked"));
    });
    // The round's lease cannot be set, so nothing is sent; the back-off cannot be set either.
    await expect(runDurableObjectAlarm(stub)).rejects.toThrow(/SQLITE_BUSY/);
    expect(await received(ep.name)).toEqual([]);
    expect(await backlog(stub)).toBe(1);
    await runInDurableObject(stub, async (_o, state) => {
      delete (state.storage as { setAlarm?: unknown }).setAlarm;
      // The runtime retries a failed alarm(); here the test does it.
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await received(ep.name)).toHaveLength(1);
    expect(await attempts(hook.id)).toEqual([{ delivery_id: ids[0], attempt: 1, status: "succeeded" }]);
    expect(await backlog(stub)).toBe(0);
  });
});

/** Hands the consumer one queue message for the event ("m1"), with `bindings`; what it did with the message. */
async function consume(accountId: string, eventId: string, bindings: Env = env) {
  const batch = createMessageBatch("rubric-events", [{ id: "m1", timestamp: new Date(), attempts: 1, body: eventMessage(accountId, eventId) }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

describe("the queue consumer under D1 faults", () => {
  it("a transient D1 error retries the message instead of failing the batch, and the event is delivered once", async () => {
    const { account, ep, events } = await setUp("consumer-busy");
    await makePending(events[0]!);
    // The first statement (loading the pending events) fails.
    const { db } = faultyD1(recordsD1Of(account.id), { times: 1, message: "SQLITE_BUSY: database is locked" });
    const result = await consume(account.id, events[0]!, { ...env, [shardBindingOf(account.id)]: db } as Env);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    expect(result.explicitAcks).toEqual([]);
    expect(await received(ep.name)).toEqual([]);

    expect((await consume(account.id, events[0]!)).explicitAcks).toEqual(["m1"]);
    await waitForReceived(ep.name, 1);
    expect(await outboxStatus(events[0]!)).toBe("dispatched");
  });

  it("writing the dispatch receipt fails after the hand-over: the message is retried and the delivery is not sent again", async () => {
    const { account, ep, events } = await setUp("consumer-mark");
    await makePending(events[0]!);
    // The write that says the events were handed over: the batch's dispatch receipt.
    const { db } = faultyD1(recordsD1Of(account.id), { times: 1, message: "D1_ERROR: Network connection lost.", only: /insert into "dispatch_receipts"/ });
    expect((await consume(account.id, events[0]!, { ...env, [shardBindingOf(account.id)]: db } as Env)).retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    await waitForReceived(ep.name, 1);

    expect((await consume(account.id, events[0]!)).explicitAcks).toEqual(["m1"]);
    expect(await outboxStatus(events[0]!)).toBe("dispatched");
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(ep.name)).toHaveLength(1);
  });
});

describe("the outbox sweeper under storage faults", () => {
  it("setAlarm busy for a moment: the sweep still runs and the next one is set", async () => {
    const account = await newAccount();
    const sweeper = await sweeperFor(account.id, { name: "overload-sweeper" });
    const eventId = await insertEvent(account.id, { createdAt: Date.now() - 60_000, status: "pending" });
    await runInDurableObject(sweeper, async (_o, state) => {
      await state.storage.setAlarm(Date.now() + 3_600_000);
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      let failures = 2;
      (state.storage as { setAlarm: unknown }).setAlarm = (...args: Parameters<typeof setAlarm>) =>
        failures-- > 0 ? Promise.reject(new Error("SQLITE_BUSY: database is locked")) : setAlarm(...args);
    });
    await expect(runDurableObjectAlarm(sweeper)).resolves.toBe(true);
    expect(await runInDurableObject(sweeper, (_o, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
    // It swept: the event was re-enqueued (its back-off is noted).
    expect(await runInDurableObject(sweeper, (_o, state) => state.storage.sql.exec("SELECT count(*) AS n FROM resends WHERE event_id = ?", eventId).one().n)).toBe(1);
  });
});
