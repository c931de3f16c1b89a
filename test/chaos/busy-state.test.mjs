// Chaos (c): a state like a real account's — 220 webhooks in every condition
// (hanging, failing, 410 Gone, unresolvable Slack host, disabled, deleted,
// filtered, FIFO retrying, parallel, rate-limited, FIFO behind a slow receiver)
// — takes three rounds of traffic, and after each round the whole process tree
// of the service is killed with SIGKILL while a backlog is pending, then
// restarted on the same state with the default settings. Every event accepted
// for a webhook that answers must reach it; the recovery figure is how long
// after the restarted service answered the last event owed at the kill arrived.
// Knobs for a look inside: BUSY_LOG=<file> keeps the last runtime's output,
// BUSY_PORT=N fixes the port, BUSY_INSPECT=N puts wrangler's inspector on N.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { plan, sleep, useRestartableService, waitFor } from "../e2e/support/service.mjs";
import { postUntilAccepted } from "./support/ingest.mjs";
import { audit, sendOrderIsIdOrder, successfulReceipts, summarize } from "./support/ledger.mjs";
import { notSucceeded } from "./support/api.mjs";

/** The recovery bound (RECOVERY_BOUND_SECONDS in src/dispatch/recovery-bound.ts): owed events arrive within this of a restart. */
const RECOVERY_BOUND_S = 60;
const ROUNDS = 3;
const RETRY = (ms, n) => ({ max_retries: n, backoff: "fixed", initial_delay_ms: ms });

/**
 * The account's webhooks, by kind. `perRound`: events sent to each webhook of
 * the kind per round (tracked kinds: every one must arrive); `noise`: the kind
 * takes the shared "noise" events, which every untracked kind subscribes to.
 */
const KINDS = [
  { kind: "hang", count: 30, noise: true, plan: { hang: true }, hook: { timeout_ms: 1000, retry_config: RETRY(2000, 2) } },
  { kind: "failing", count: 30, noise: true, plan: { status: 500 }, hook: { retry_config: RETRY(1000, 3) } },
  { kind: "gone", count: 20, noise: true, plan: { status: 410 } },
  { kind: "slack", count: 20, noise: true, url: "http://nowhere.invalid/slack", hook: { format: "slack" } },
  { kind: "disabled", count: 20, noise: true, after: "disable" },
  { kind: "deleted", count: 20, noise: true, after: "delete" },
  // Half of what a filtered webhook is sent is `critical` (owed), half `low` (must never arrive).
  { kind: "filtered", count: 20, perRound: 4, filterSeverity: true },
  { kind: "flaky", count: 20, perRound: 4, plan: { fail_times: 3 }, hook: { retry_config: RETRY(500, 6) } },
  { kind: "parallel", count: 20, perRound: 6, plan: { fail_rate: 0.2, fail_cap: 2 }, hook: { ordering: "parallel", retry_config: RETRY(500, 6) } },
  { kind: "limited", count: 10, perRound: 8, hook: { rate_limit_per_second: 2 } },
  { kind: "slow", count: 10, perRound: 20, plan: { delay_ms: 250 } },
];
const NOISE_PER_ROUND = 4;
/** Kill once this share of the round's events for the slow receivers has arrived: a backlog is pending. */
const KILL_AT_SHARE = 0.25;

// BUSY_INSPECT=N: wrangler's inspector on port N, to look inside a runtime that stops answering.
const inspectArgs = process.env.BUSY_INSPECT ? ["--inspector-port", process.env.BUSY_INSPECT] : [];
// BUSY_LOG=<file>: keep the last runtime's output for a look afterwards (registered first, so it runs before the stop).
after(async () => {
  if (process.env.BUSY_LOG && run.service) (await import("node:fs")).writeFileSync(process.env.BUSY_LOG, run.service.output());
});
const run = useRestartableService({ args: inspectArgs, port: Number(process.env.BUSY_PORT) || 0 });

/** Creates every webhook; returns [{name, kind, id, ...kindSpec}]. */
async function createWebhooks() {
  const hooks = [];
  for (const spec of KINDS) {
    for (let i = 0; i < spec.count; i++) {
      const name = `${spec.kind}-${String(i).padStart(2, "0")}`;
      if (spec.plan) await plan(run.receiver, name, { fail_seed: hooks.length + 1, ...spec.plan });
      const filters = { projects: [spec.noise ? "noise" : name], ...(spec.filterSeverity ? { severity: ["critical"] } : {}) };
      const res = await run.service.api("POST", "/v1/webhooks", {
        name,
        url: spec.url ?? `${run.receiver.url}/hooks/${name}`,
        events: ["evaluation.completed"],
        filters,
        ...spec.hook,
      });
      assert.equal(res.status, 201, `${name}: ${res.text}`);
      hooks.push({ ...spec, name, id: res.json.id });
    }
  }
  return hooks;
}

/** One round's events: per tracked webhook `perRound` in sequence, interleaved across webhooks, plus the noise. */
function roundItems(hooks, round) {
  const items = [];
  const tracked = hooks.filter((h) => h.perRound);
  const most = Math.max(...tracked.map((h) => h.perRound));
  for (let seq = 0; seq < most; seq++) {
    if (seq < NOISE_PER_ROUND) items.push({ hook: null, project: "noise", seq, severity: null });
    for (const h of tracked) {
      if (seq >= h.perRound) continue;
      items.push({ hook: h, project: h.name, seq, severity: h.filterSeverity ? (seq % 2 ? "low" : "critical") : null });
    }
  }
  return items.map((it, k) => ({ ...it, key: `busy-${round}-${k}` }));
}

/** Sends the items as batches of 100 (idempotency key per item, repeated until accepted). */
async function send(target, items, onAccepted) {
  for (let i = 0; i < items.length; i += 100) {
    const part = items.slice(i, i + 100);
    const events = part.map((it) => ({
      type: "evaluation.completed",
      data: { project_id: it.project, seq: it.seq, ...(it.severity ? { severity: it.severity } : {}) },
      idempotency_key: it.key,
    }));
    const { json } = await postUntilAccepted(target, "/v1/events/batch", { events });
    part.forEach((it, j) => onAccepted(it, json.data[j].id));
  }
}

test("220 webhooks in every condition, 3 × SIGKILL of the whole tree with backlog: owed events arrive within the bound, none lost, FIFO holds", { timeout: 600_000 }, async (t) => {
  const started = Date.now();
  const at = (ms) => `+${((ms - started) / 1000).toFixed(1)} s`;
  const hooks = await createWebhooks();
  const byName = new Map(hooks.map((h) => [h.name, h]));
  /** Event ids each tracked webhook is owed, in send order. */
  const owed = new Map(hooks.filter((h) => h.perRound).map((h) => [h.name, []]));
  /** Event ids a filtered webhook must never get. */
  const excluded = new Map();

  // History first: a noise event reaches the disabled and deleted kinds before they are disabled or deleted.
  const target = () => ({ baseUrl: run.service.baseUrl, apiKey: run.service.apiKey });
  await send(target(), [{ hook: null, project: "noise", seq: -1, severity: null, key: "busy-history" }], () => {});
  await waitFor(() => hooks.filter((h) => h.after).every((h) => run.receiver.received(h.name).length > 0), {
    timeout: 60_000,
    what: "the history event at the disabled and deleted webhooks",
  });
  const proxyHiccups = [];
  for (const h of hooks.filter((x) => x.after)) {
    // wrangler's dev proxy answers 503 "restarted mid-request", or drops the connection, when its hop to
    // the runtime drops; the call is idempotent, so it is repeated (a runtime really gone fails all five).
    let res;
    for (let tries = 0; tries < 5; tries++) {
      const call = h.after === "disable" ? run.service.api("POST", `/v1/webhooks/${h.id}/disable`) : run.service.api("DELETE", `/v1/webhooks/${h.id}`);
      res = await call.catch((err) => ({ status: 0, text: `${err.message} (${err.cause?.code ?? err.cause?.message ?? "no cause"})` }));
      if (res.status !== 503 && res.status !== 0) break;
      proxyHiccups.push(res.status === 0 ? res.text : "503");
      await sleep(500);
    }
    assert.ok(res.status === 200 || res.status === 204, `${h.after} ${h.name}: ${res.status} ${res.text}`);
  }
  t.diagnostic(`disable/delete: ${proxyHiccups.length} dev-proxy hiccup(s) repeated${proxyHiccups.length ? `: ${[...new Set(proxyHiccups)].join("; ")}` : ""}`);
  const historyAt = new Map(hooks.filter((h) => h.after).map((h) => [h.name, run.receiver.received(h.name).length]));

  const received = (name) => successfulReceipts(run.receiver.received(name), run.receiver.stats(name));
  const audits = () => [...owed].map(([name, ids]) => ({ name, ...audit(ids, received(name).filter((r) => !excluded.get(name)?.has(r.eventId))) }));
  const recoveries = [];
  for (let round = 0; round < ROUNDS; round++) {
    const items = roundItems(hooks, round);
    await send(target(), items, (it, id) => {
      if (!it.hook) return;
      if (it.severity === "low") {
        if (!excluded.has(it.hook.name)) excluded.set(it.hook.name, new Set());
        excluded.get(it.hook.name).add(id);
      } else owed.get(it.hook.name).push(id);
    });
    const slow = hooks.filter((h) => h.kind === "slow");
    const slowTarget = (round + KILL_AT_SHARE) * slow.reduce((n, h) => n + h.perRound, 0);
    await waitFor(() => slow.reduce((n, h) => n + received(h.name).length, 0) >= slowTarget, {
      timeout: 120_000,
      interval: 20,
      what: `round ${round}: ${slowTarget} deliveries at the slow receivers`,
    });

    // The crash: every process of the service at once, then a restart on the same state with default settings.
    const before = new Map(audits().map((a) => [a.name, new Set(a.firstOrder)]));
    const pending = [...owed].flatMap(([name, ids]) => ids.filter((id) => !before.get(name).has(id)).map((id) => ({ name, id })));
    const { killedAt, upAt } = await run.restart();
    t.diagnostic(`round ${round}: SIGKILL at ${at(killedAt)} with ${pending.length} owed events undelivered; answering again at ${at(upAt)}`);
    recoveries.push({ round, upAt, pending, output: () => run.service.output() });
    // The next round's traffic starts at once, as a real producer's would.
  }

  // Every owed event arrives; each restart's recovery is when its last owed event first arrived.
  const arrival = await waitFor(() => audits().every((a) => a.lost.length === 0), { timeout: 240_000, interval: 500, what: "every owed event to arrive" }).then(
    () => null,
    (err) => err,
  );
  const firstAt = new Map();
  for (const name of owed.keys()) for (const r of received(name)) if (!firstAt.has(`${name} ${r.eventId}`)) firstAt.set(`${name} ${r.eventId}`, r.at);
  const figures = recoveries.map((r) => {
    const times = r.pending.map((p) => firstAt.get(`${p.name} ${p.id}`) ?? Infinity);
    const late = r.pending.filter((_, i) => times[i] === Infinity).length;
    return { round: r.round, owed: r.pending.length, late, seconds: Math.max(0, ...times.map((x) => (x - r.upAt) / 1000)) };
  });
  for (const f of figures) t.diagnostic(`restart ${f.round + 1}: ${f.owed} owed events, last arrived ${f.seconds.toFixed(1)} s after the service answered${f.late ? ` (${f.late} never)` : ""}`);
  const worst = Math.max(...figures.map((f) => f.seconds));
  console.log(`recovery: max ${Number.isFinite(worst) ? worst.toFixed(1) : "∞"} s after restart`);

  const results = audits();
  // Order is promised to FIFO webhooks only: the parallel ones' reorderings are counted apart.
  const isFifo = (name) => byName.get(name).hook?.ordering !== "parallel";
  const summary = summarize(results.filter((a) => isFifo(a.name)));
  const parallel = summarize(results.filter((a) => !isFifo(a.name)));
  const lost = summary.lost + parallel.lost;
  const unexpected = summary.unexpected + parallel.unexpected;
  console.log(`${summary.line} (FIFO webhooks); others: ${parallel.delivered} delivered, ${parallel.lost} lost, ${parallel.duplicates} duplicates, ${parallel.outOfOrder} reordered (parallel: allowed)`);
  for (const a of results) {
    if (a.lost.length) t.diagnostic(`LOST ${a.name}: ${a.lost.length} (${a.lost.slice(0, 3).join(", ")}…)`);
    if (isFifo(a.name)) for (const o of a.outOfOrder.slice(0, 3)) t.diagnostic(`OUT OF ORDER ${a.name}: ${o.eventId} after ${o.overtakenBy}`);
  }
  if (arrival) t.diagnostic(`--- service output (tail) ---\n${run.service.output().slice(-4000)}`);

  for (const [name, ids] of owed) assert.ok(sendOrderIsIdOrder(ids), `${name}: events sent one after another have increasing ids`);
  assert.equal(unexpected, 0, "nothing arrives that was not accepted for that webhook");
  assert.equal(lost, 0, "no owed event is lost");
  assert.equal(summary.outOfOrder, 0, "FIFO webhooks: nothing first received after a later event");
  for (const [name, ids] of excluded) {
    const leaked = received(name).filter((r) => ids.has(r.eventId));
    assert.equal(leaked.length, 0, `${name}: events its severity filter excludes never arrive`);
  }
  for (const h of hooks.filter((x) => x.after)) {
    assert.equal(run.receiver.received(h.name).length, historyAt.get(h.name), `${h.name} (${h.after}d) gets nothing after it was ${h.after}d`);
  }
  assert.ok(worst <= RECOVERY_BOUND_S, `recovery took ${worst.toFixed(1)} s after a restart; the bound is ${RECOVERY_BOUND_S} s`);

  // The API agrees with the receivers.
  const trackedNames = [...owed.keys()];
  let missing = [];
  const agreed = await waitFor(
    async () => (missing = await notSucceeded(run.service, trackedNames.map((n) => byName.get(n).id), trackedNames.map((n) => owed.get(n)))).length === 0,
    { timeout: 60_000, interval: 1000, what: "every owed delivery to be recorded succeeded" },
  ).then(
    () => true,
    () => false,
  );
  const shown = missing.slice(0, 5).map((m) => {
    const name = trackedNames[m.index];
    const got = run.receiver.received(name).filter((r) => r.headers["x-rubric-event-id"] === m.eventId);
    const when = got.map((r) => `${at(r.received_at)} → ${r.answered}`).join(", ");
    const state = m.delivery ? `${m.delivery.status} after ${m.delivery.attempts} attempt(s)` : "no record";
    return `${name} ${m.eventId} (#${owed.get(name).indexOf(m.eventId)} sent to it): ${state}; received ${when || "never"}`;
  });
  assert.ok(agreed, `${missing.length} owed deliveries not recorded as succeeded, e.g.\n${shown.join("\n")}`);
});
