import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { alarmNeedsSetting, DEAD_ALARM_AFTER_MS } from "../src/dispatch/alarm-liveness";
import { heldBacklog } from "./support/backlog";
import { insertEvent, newAccount, received, waitFor, waitForReceived } from "./support/helpers";
import { makePending, sweeperFor } from "./support/records";

const HOUR = 3_600_000;

describe("alarm liveness", () => {
  it("takes an alarm long overdue as dead, and keeps a live or later one", () => {
    const now = 1_000_000;
    expect(alarmNeedsSetting(null, now, now)).toBe(true);
    expect(alarmNeedsSetting(now + 500, now, now)).toBe(true); // a later one is moved sooner
    expect(alarmNeedsSetting(now - 10, now + 500, now)).toBe(false); // due a moment ago: about to run
    expect(alarmNeedsSetting(now + 100, now + 500, now)).toBe(false);
    expect(alarmNeedsSetting(now - DEAD_ALARM_AFTER_MS - 1, now + 500, now)).toBe(true); // never going to run
  });

  it("wake() re-arms an object's backlog at once, in order, and says whether it held any", async () => {
    const t = await heldBacklog("wake", 3, Date.now() + HOUR);
    expect(await t.stub.wake()).toBe(true);
    const got = await waitForReceived(t.ep.name, 3);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(t.events);
    await waitFor(async () => (await t.stub.stats()).backlog === 0, 5000, "an empty queue");
    expect(await t.stub.wake()).toBe(false);
    expect(await received(t.ep.name)).toHaveLength(3);
  });

  it("the sweeper wakes every active webhook's object, and a disabled one's backlog stays held", async () => {
    const held = await heldBacklog("wake-all", 2, Date.now() + HOUR);
    const disabled = await heldBacklog("wake-disabled", 1, Date.now() + HOUR);
    await env.DB.prepare("UPDATE webhooks SET status = 'disabled' WHERE id = ?").bind(disabled.hook.id).run();
    const sweeper = await sweeperFor(held.account.id);
    const woken = await sweeper.wakeEndpoints();
    expect(woken.holding).toBeGreaterThanOrEqual(1);
    const got = await waitForReceived(held.ep.name, 2);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(held.events);
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(disabled.ep.name)).toEqual([]);
  });

  it("a new sweeper instance that finds an alarm set by an earlier one moves it to now; later calls leave a live one alone", async () => {
    const sweeper = env.SWEEPER.get(env.SWEEPER.idFromName("outbox-liveness"));
    const far = Date.now() + HOUR;
    // Further out than one sweep interval (an hour here), which a sweep that already ran re-arms to.
    const inherited = Date.now() + 2 * HOUR;
    await runInDurableObject(sweeper, async (object, state) => {
      await state.storage.setAlarm(inherited);
      // As the runtime builds it after a restart: it has not looked at its alarm yet.
      (object as unknown as { recovery: string }).recovery = "unchecked";
    });
    const before = Date.now();
    await sweeper.arm();
    const moved = await runInDurableObject(sweeper, (_o, state) => state.storage.getAlarm());
    // Moved to now (it may already have run and re-armed itself one interval on, which is also short of `inherited`).
    expect(moved === null || moved < inherited).toBe(true);
    expect(moved === null || moved <= before + Number(env.SWEEP_INTERVAL_SECONDS) * 1000 + 1000).toBe(true);

    // An instance that has looked at its alarm already (another one, so the sweep above cannot race this).
    const other = env.SWEEPER.get(env.SWEEPER.idFromName("outbox-liveness-2"));
    await other.arm();
    await runInDurableObject(other, (_o, state) => state.storage.setAlarm(far));
    await other.arm();
    expect(await runInDurableObject(other, (_o, state) => state.storage.getAlarm())).toBe(far);
  });

  it("only a sweep after a start wakes every endpoint object: one its alarm brought on time leaves them be", async () => {
    const t = await heldBacklog("wake-only-after-start", 2, Date.now() + HOUR);
    const sweeper = await sweeperFor(t.account.id, { name: "outbox-on-time" });
    // A new instance whose alarm came on time (the sweeper is evicted between sweeps): nothing was lost.
    await runInDurableObject(sweeper, (_o, state) => state.storage.setAlarm(Date.now() + HOUR));
    expect(await runDurableObjectAlarm(sweeper)).toBe(true); // run now, as if its time had come
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(t.ep.name)).toEqual([]);
    // A new instance armed by an isolate's first request, finding an alarm from before: the recovery sweep.
    await runInDurableObject(sweeper, (object) => {
      (object as unknown as { recovery: string }).recovery = "unchecked";
    });
    await sweeper.arm();
    await runDurableObjectAlarm(sweeper); // (it is due now, and may have run already)
    const got = await waitForReceived(t.ep.name, 2);
    expect(got.map((g) => g.headers["x-rubric-event-id"])).toEqual(t.events);
  });

  it("the first sweep after a start re-enqueues an event pending from before it whatever its back-off", async () => {
    const account = await newAccount();
    const sweeper = await sweeperFor(account.id, { name: "outbox-after-start" });
    const start = Date.now();
    const setPending = makePending;
    // Pending since before the start, re-enqueued once already (its back-off now runs 30 s).
    const backedOff = await insertEvent(account.id, { createdAt: start - 120_000, status: "pending" });
    expect(await sweeper.sweep(start)).toBe(1);
    await setPending(backedOff); // its re-enqueued message may have been fanned out meanwhile
    expect(await sweeper.sweep(start)).toBe(0);
    await setPending(backedOff);
    expect(await sweeper.sweep(start, { at: start })).toBe(1);
  });
});
