#!/usr/bin/env node
// `npm run bench`: one run that starts Rubric Webhooks with fresh state, measures
// the request ceiling, ingest latency, end-to-end delivery at fan-out 1/10/50 and
// the billable operations per delivery; then the shard comparison (bench/shards.mjs:
// the fan-out 10 load over 8 accounts on a fresh service with SHARDS=1, 2 and 4,
// each with its own ceiling); then prints the tables and writes
// <out>/latest.{json,md,svg}.
//
//   node bench/run.mjs [--quick] [--only main|shards] [--shards 1,2,4] [--out bench/results]
//
// --quick shortens every phase and runs the shard part with SHARDS=4 only (unless
// --shards says otherwise); --only runs one of the two parts.
//
// Exits non-zero only if the run itself broke (service or receiver failure),
// never because a target was missed. The service is always stopped and its
// temporary state removed, also on errors and Ctrl-C.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { devVar, ROOT } from "../test/e2e/support/service.mjs";
import { now } from "./load.mjs";
import { startReceiver } from "./receiver.mjs";
import { shardTextTable, textTable, writeOutputs } from "./report.mjs";
import { batchIngest, createAccount, createWebhooks, doFetchCeiling, drain, endToEnd, healthCeiling, healthProbe, ingestClosedLoop, ingestLatency, settledScrape } from "./scenarios.mjs";
import { costBetween, opsBetween } from "./cost.mjs";
import { createService } from "./service.mjs";
import { cpuAccount, cpuBusy } from "./cpu.mjs";
import { shardComparison } from "./shards.mjs";

const pct = (v) => `${Math.round(v * 100)} %`;

const args = process.argv.slice(2);
if (args.includes("-h") || args.includes("--help")) {
  console.log(
    "Usage: node bench/run.mjs [--quick] [--only main|shards] [--shards LIST] [--out DIR]\n" +
      "  --only main     the ceilings, ingest, fan-out 1/10/50 and cost (no shard comparison)\n" +
      "  --only shards   the shard comparison alone\n" +
      "  --shards LIST   SHARDS values to compare, e.g. 1,2,4 (default 1,2,4; --quick: 4)\n" +
      "  --out DIR       where latest.{json,md,svg} go (default bench/results)",
  );
  process.exit(0);
}
const usage = (msg) => {
  console.error(`${msg} (see --help)`);
  process.exit(2);
};
/** The value of `--name VALUE` or `--name=VALUE`, or undefined; exits when the value is missing. */
function option(name) {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const value = args[i].includes("=") ? args[i].slice(name.length + 1) : args[i + 1];
  if (!value || value.startsWith("--")) usage(`${name} needs a value`);
  return value;
}
const quick = args.includes("--quick");
const outDir = path.resolve(option("--out") ?? path.join(ROOT, "bench", "results"));
const only = option("--only");
if (only !== undefined && only !== "main" && only !== "shards") usage(`--only is main or shards, not '${only}'`);
const shardsArg = option("--shards");
const shardCounts = shardsArg === undefined ? (quick ? [4] : [1, 2, 4]) : shardsArg.split(",").map((v) => Number(v.trim()));
// wrangler.toml binds DB_SHARD_0..3.
if (!shardCounts.length || shardCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 4)) usage(`--shards takes whole numbers from 1 to 4, e.g. 1,2,4 (not '${shardsArg}')`);
/** Which parts run. */
const parts = { main: only !== "shards", shards: only !== "main" };

/** Durations and sizes. The budgets (5 min full, 60 s quick, start-up included) bound every wait. */
const CONFIG = {
  // Waits (drains) are cut to fit; the rest is fixed. Leaves room for start-up and stopping.
  budgetMs: quick ? 60_000 : 330_000,
  ceilingMs: quick ? 3_000 : 10_000,
  ceilingConcurrency: 32,
  probeCount: quick ? 500 : 2_000,
  ingestRate: 200,
  /** GET /health per second sent alongside the paced ingest (the runtime's own latency then). */
  healthProbeRate: 20,
  ingestMs: quick ? 5_000 : 30_000,
  // No webhooks behind the ingest account: locally the delivery work would share these few cores
  // with the API and measure the machine, while on Cloudflare it runs in other isolates. The
  // queue consumer still runs (it loads each event and finds nothing to deliver).
  ingestFanOut: 0,
  batchMs: quick ? 1_000 : 5_000,
  lowRate: 20,
  lowRateMs: quick ? 2_000 : 10_000,
  fanOuts: [1, 10, 50],
  e2eMs: quick ? 5_000 : 20_000,
  senders: 16,
  // Outstanding deliveries (accepted, not yet received) allowed before senders wait: per endpoint
  // enough to keep its Durable Object busy, capped so the backlog drains in seconds. Without it the
  // senders' ingest load would starve delivery of CPU on a small machine and the backlog would
  // outlast the scenario.
  windowPerEndpoint: 100,
  windowMax: quick ? 500 : 1_500,
  drainMs: quick ? 5_000 : 45_000,
  // The service's usage counters reach D1 (and /metrics) only every USAGE_FLUSH_SECONDS; each
  // scenario waits that long before its final scrape. 10 s is the production setting; quick runs
  // use 1 s to fit their budget, at the price of ten times as many (billed) flush writes.
  usageFlushSeconds: quick ? 1 : 10,
  // During this fan-out's burst, ingest is measured from another account: paced, then closed-loop.
  burstFanOut: 10,
  burstIngestClients: 8,
};

/**
 * The shard comparison: the fan-out 10 saturation scenario's shape (fan-out, senders, window,
 * length, ceiling) from `accounts` accounts spread evenly over the shards, once per SHARDS value,
 * each on a fresh service. Its own budget (start-ups included), shared evenly by the runs.
 */
const SHARD_CONFIG = {
  counts: shardCounts,
  // A start-up with 4 shards (5 databases to migrate) takes up to ~30 s on a busy 2-core machine.
  budgetMs: (quick ? 50_000 : 100_000) * shardCounts.length,
  accounts: 8,
  // Accounts are placed by the service's hash of their id: made until each shard has its share.
  placementTries: 64,
  fanOut: CONFIG.burstFanOut,
  senders: CONFIG.senders,
  window: Math.min(CONFIG.windowMax, CONFIG.windowPerEndpoint * CONFIG.burstFanOut),
  durationMs: CONFIG.e2eMs,
  drainMs: CONFIG.drainMs,
  ceilingMs: CONFIG.ceilingMs,
  ceilingConcurrency: CONFIG.ceilingConcurrency,
  usageFlushSeconds: CONFIG.usageFlushSeconds,
};

/**
 * Ingest from another account while a burst is delivered: `ingestRate`/s paced for the first
 * half of the burst (after a second for it to build up), then a closed loop of
 * `burstIngestClients` for the rest.
 */
async function ingestDuringBurst(ctx, apiKey, burstMs) {
  const half = Math.max(1_000, (burstMs - 1_000) / 2);
  await new Promise((r) => setTimeout(r, 1_000));
  const [paced, health] = await Promise.all([
    ingestLatency(ctx, apiKey, { rate: CONFIG.ingestRate, durationMs: half }),
    healthProbe(ctx, { rate: CONFIG.healthProbeRate, durationMs: half }),
  ]);
  paced.health = health;
  const closed = await ingestClosedLoop(ctx, apiKey, { concurrency: CONFIG.burstIngestClients, durationMs: half });
  return { fan_out: CONFIG.burstFanOut, paced, closed };
}

const started = now();
const remainingMs = () => CONFIG.budgetMs - (now() - started);
const log = (msg) => console.error(`[bench ${((now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

/** @type {ReturnType<typeof createService> | null} */
let service = null;
/** @type {Awaited<ReturnType<typeof startReceiver>> | null} */
let receiver = null;
/** @type {Promise<void> | null} */
let cleaning = null;
let cleaned = false;
let interrupted = null;

/** Stops the service (and removes its state) and the receiver; every caller gets the same promise. */
function cleanup() {
  cleaning ??= (async () => {
    try {
      await service?.stop();
      await receiver?.close();
    } finally {
      cleaned = true;
    }
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    log(`${signal}: stopping the service`);
    // No report for an interrupted run: stop, clean up, leave.
    cleanup().finally(() => process.exit(130));
  });
}
// If this process dies some other way (or exits mid-cleanup), workerd must not outlive it.
process.on("exit", () => {
  if (!cleaned) service?.killSync();
});

function machineInfo() {
  const cpus = os.cpus();
  const git = (...a) => {
    try {
      return execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpu_model: cpus[0]?.model ?? "unknown",
    cpu_count: cpus.length,
    total_memory_gb: os.totalmem() / 1024 ** 3,
    node: process.version,
    wrangler: JSON.parse(readFileSync(path.join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version,
    git_commit: git("rev-parse", "--short", "HEAD"),
    git_dirty: git("status", "--porcelain", "--untracked-files=no") !== "",
    os: `${os.type()} ${os.release()}`,
    load_average_at_start: os.loadavg(),
  };
}

/**
 * Files under src/ modified after `sinceMs` (epoch ms). Others edit src/ while benchmarks run and
 * wrangler dev reloads on every change, which stalls requests: such a run is flagged, not trusted.
 */
function srcChangedSince(sinceMs) {
  const changed = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (statSync(p).mtimeMs > sinceMs) changed.push(path.relative(ROOT, p));
    }
  };
  try {
    walk(path.join(ROOT, "src"));
  } catch {}
  return changed;
}
const startedAtMs = Date.now();

/** @type {any} */
const results = { quick, parts, date: new Date().toISOString(), config: CONFIG, machine: machineInfo(), ceiling: {}, ingest: {}, e2e: [] };

/**
 * Stops the service running (if any) and starts a fresh one (new state directory, new port)
 * with `env` added to start.mjs's environment; it becomes the one cleanup() stops.
 * @param {{env?: Record<string, string>}} [opts]
 */
async function launch({ env = {} } = {}) {
  await service?.stop();
  const vars = { SWEEP_AFTER_SECONDS: "30", USAGE_FLUSH_SECONDS: String(CONFIG.usageFlushSeconds) };
  const s = createService({ vars, env, logLevel: "warn" });
  service = s;
  await s.start();
  // Read after start: start.mjs writes .dev.vars on a first run.
  const ctx = { baseUrl: s.baseUrl, adminToken: devVar("ADMIN_TOKEN"), receiver, log, remainingMs, requestTimeoutMs: quick ? 5_000 : 10_000 };
  return { service: s, ctx };
}

/** An account's billable operations so far, as the service attributes them (GET /v1/metrics); null if unreadable. */
async function accountOps(ctx, apiKey) {
  const res = await fetch(`${ctx.baseUrl}/v1/metrics`, { headers: { Authorization: `Bearer ${apiKey}` } }).catch(() => null);
  if (!res?.ok) return null;
  return /** @type {Record<string, number>} */ ((await res.json()).billable_operations);
}

async function main() {
  results.machine.cpu_busy_before_start = await cpuBusy(500);
  receiver = await startReceiver();
  log(`receiver on ${receiver.url}`);
  if (parts.main) await mainPart();
  if (parts.shards) {
    await service?.stop();
    log(`shards: SHARDS=${SHARD_CONFIG.counts.join(", ")}, a fresh service each`);
    results.shards = { config: SHARD_CONFIG, runs: [] };
    await shardComparison({ cfg: SHARD_CONFIG, into: results.shards, launch, stop: async () => service?.stop(), log });
  }
  if (receiver.errors.length) throw new Error(`receiver errors: ${receiver.errors.map((e) => e.message).join("; ")}`);
}

/** The ceilings, ingest, the fan-out scenarios and their cost, on one service. */
async function mainPart() {
  const t0 = now();
  const { service, ctx } = await launch();
  results.startup_s = (now() - t0) / 1000;
  log(`service on ${service.baseUrl} (state ${service.stateDir}), up in ${results.startup_s.toFixed(1)} s`);
  const cpu = cpuAccount(/** @type {number} */ (service.pid()));
  const flushMs = CONFIG.usageFlushSeconds * 1000;
  /** Between phases: a service that died (or stopped answering) breaks the run instead of yielding zeros. */
  const alive = () => {
    const exit = service?.exitInfo();
    if (exit) throw new Error(`the service exited during the run (${exit.signal ?? `exit code ${exit.code}`})`);
  };

  log(`ceiling: GET /health, ${CONFIG.ceilingConcurrency} connections, ${CONFIG.ceilingMs / 1000} s`);
  results.ceiling.health = await healthCeiling(ctx, { concurrency: CONFIG.ceilingConcurrency, durationMs: CONFIG.ceilingMs });
  alive();
  if (!results.ceiling.health.rps) throw new Error("GET /health never answered 200 during the ceiling phase");
  results.ceiling.do_fetch = [];
  for (const concurrency of [1, 6]) {
    const r = await doFetchCeiling(ctx, { count: CONFIG.probeCount, concurrency });
    results.ceiling.do_fetch.push(r);
    log(`ceiling: DO fetch concurrency ${concurrency}: ${r.status === "ok" ? `${Math.round(r.fetches_per_second)}/s` : `${r.status} (HTTP ${r.http_status})`}`);
    if (r.status === "n/a") break; // the route is missing: no point asking again
  }

  // Every account and webhook up front, so their set-up is counted before the first scrape
  // rather than billed to whichever scenario happens to follow it.
  log("set-up: one account per scenario and its webhooks");
  /** @type {Array<{label: string, fanOut: number, durationMs: number, apiKey: string, withIngest?: boolean, open?: {rate: number}, closed?: {senders: number, window: number}}>} */
  const scenarios = [
    { label: "probe1", fanOut: 1, durationMs: CONFIG.lowRateMs, apiKey: "", open: { rate: CONFIG.lowRate } },
    ...CONFIG.fanOuts.map((fanOut) => ({
      label: `fan${fanOut}`,
      fanOut,
      durationMs: CONFIG.e2eMs,
      apiKey: "",
      closed: { senders: CONFIG.senders, window: Math.min(CONFIG.windowMax, CONFIG.windowPerEndpoint * fanOut) },
    })),
    // The fan-out 10 load once more, with another account's ingest alongside: the ingest latency
    // during a burst. Its own deliveries/s and cost are reported apart (the ingest shares the runtime).
    {
      label: `burst${CONFIG.burstFanOut}`,
      fanOut: CONFIG.burstFanOut,
      durationMs: CONFIG.e2eMs,
      apiKey: "",
      withIngest: true,
      closed: { senders: CONFIG.senders, window: Math.min(CONFIG.windowMax, CONFIG.windowPerEndpoint * CONFIG.burstFanOut) },
    },
  ];
  const ingestKey = await createAccount(ctx, "bench-ingest");
  if (CONFIG.ingestFanOut) await createWebhooks(ctx, ingestKey, "ingest", CONFIG.ingestFanOut);
  for (const s of scenarios) {
    s.apiKey = await createAccount(ctx, `bench-${s.label}`);
    await createWebhooks(ctx, s.apiKey, s.label, s.fanOut);
  }
  results.webhooks_total = CONFIG.ingestFanOut + scenarios.reduce((a, s) => a + s.fanOut, 0);

  alive();
  const first = await settledScrape(ctx, { quietSince: now(), flushMs });
  let metrics = first.counters;
  results.metrics_available = metrics !== null;
  if (!metrics) log(`GET /metrics is not usable (${first.problem}): cost will be n/a`);

  log(`ingest: ${CONFIG.ingestRate} events/s for ${CONFIG.ingestMs / 1000} s`);
  const [single, health] = await Promise.all([
    ingestLatency(ctx, ingestKey, { rate: CONFIG.ingestRate, durationMs: CONFIG.ingestMs }),
    healthProbe(ctx, { rate: CONFIG.healthProbeRate, durationMs: CONFIG.ingestMs }),
  ]);
  results.ingest.single = { ...single, health };
  if (!results.ingest.single.accepted) throw new Error(`ingest: no event was accepted (statuses ${JSON.stringify(results.ingest.single.statuses)})`);
  results.ingest.batch = await batchIngest(ctx, ingestKey, { batchesPerSec: 2, durationMs: CONFIG.batchMs });
  log(`ingest: p50 ${results.ingest.single.latency_ms.p50} ms, p99 ${results.ingest.single.latency_ms.p99} ms; batch ${results.ingest.batch.status ?? "ok"}`);
  const ingestEvents = results.ingest.single.accepted + (results.ingest.batch.accepted_batches ?? 0) * (results.ingest.batch.batch_size ?? 0);
  if (CONFIG.ingestFanOut) {
    // Let the ingest account's deliveries finish so they do not count against the next phase.
    const counts = receiver.counts;
    const ingestCount = () => [...counts].filter(([p]) => p.startsWith("/hooks/ingest-")).reduce((a, [, n]) => a + n, 0);
    results.ingest.drain_s = (await drain(ingestCount, ingestEvents * CONFIG.ingestFanOut, Math.min(CONFIG.drainMs, remainingMs() - 40_000))) / 1000;
    results.ingest.undelivered = Math.max(0, ingestEvents * CONFIG.ingestFanOut - ingestCount());
  }
  if (metrics) {
    const after = (await settledScrape(ctx, { quietSince: now(), flushMs, before: metrics })).counters;
    // Operations per accepted event with nothing to deliver: the fixed ingest share of a delivery's cost.
    results.ingest.ops_per_event = opsBetween(metrics, after, ingestEvents);
    metrics = after;
  }

  for (const [i, s] of scenarios.entries()) {
    alive();
    // The scenarios left share what is left of the budget: each gets its configured length if
    // that fits (after a slow, loaded start-up it may not), and the rest for its drain.
    // fair: this scenario's share of the time left, less its final settle-and-scrape.
    const fair = remainingMs() / (scenarios.length - i) - (flushMs + 1_500);
    const durationMs = Math.round(Math.max(1_000, Math.min(s.durationMs, fair - 1_000)));
    const drainMs = Math.max(1_000, Math.min(CONFIG.drainMs, fair - durationMs));
    if (durationMs < s.durationMs) log(`e2e ${s.label}: shortened to ${durationMs / 1000} s to stay within the time budget`);
    log(`e2e ${s.label}: fan-out ${s.fanOut}, ${s.open ? `${s.open.rate} events/s` : `${s.closed?.senders} senders, window ${s.closed?.window} deliveries`}, ${durationMs / 1000} s`);
    // Ingest isolated from delivery: while the fan-out 10 burst is delivered, another account's
    // producer sends (first paced, then a closed loop); its latency should not notice the burst.
    const burst = s.withIngest === true;
    const ingestOpsBefore = burst ? await accountOps(ctx, ingestKey) : null;
    const during = burst ? ingestDuringBurst(ctx, ingestKey, durationMs) : null;
    const r = await endToEnd(ctx, { ...s, durationMs, drainMs, flushMs, before: metrics });
    if (during) {
      results.ingest.during_burst = await during;
      const { paced, closed } = results.ingest.during_burst;
      // The other account's events are not this scenario's deliveries: the operations the service
      // attributed to that account (its own counters, GET /v1/metrics) come off the scenario's cost.
      const extra = paced.accepted + closed.accepted;
      const ingestOpsAfter = await accountOps(ctx, ingestKey);
      if (r.metrics && ingestOpsBefore && ingestOpsAfter) {
        const before = { ...r.metrics.before, ops: { ...r.metrics.before.ops } };
        for (const [op, n] of Object.entries(ingestOpsAfter)) before.ops[op] = (before.ops[op] ?? 0) + (n - (ingestOpsBefore[op] ?? 0));
        r.cost = { ...costBetween(before, r.metrics.after), receiver_deliveries: r.cost?.receiver_deliveries, less_ingest_events: extra };
      }
      log(`ingest during the fan-out ${s.fanOut} burst: paced p50 ${paced.latency_ms.p50} ms, p99 ${paced.latency_ms.p99} ms; ${closed.concurrency} clients p99 ${closed.latency_ms.p99} ms`);
    }
    results.e2e.push(burst ? { ...r, with_ingest: true } : r);
    // Nothing accepted is no measurement (typically src/ changed mid-run and the keys stopped working).
    if (!r.events_accepted) throw new Error(`e2e ${s.label}: no event was accepted (statuses ${JSON.stringify(r.statuses)})`);
    metrics = r.metrics?.after ?? null;
    log(
      `e2e ${s.label}: ${Math.round(r.sustained_dps)} deliveries/s steady, ${Math.round(r.overall_dps)} overall, p50 ${r.latency_ms.p50} ms, ` +
        `undelivered ${r.undelivered}, $/M ${r.cost?.usdPerMillion?.toFixed(2) ?? "n/a"}`,
    );
  }
  alive();
  results.cpu = cpu.stop();
  if (results.cpu) log(`CPU over the run: ${pct(results.cpu.machine_busy)} busy = service ${pct(results.cpu.service)} + bench ${pct(results.cpu.bench)} + other processes ${pct(results.cpu.other)}`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  if (interrupted) await new Promise(() => {}); // the signal handler exits once cleaned up
  exitCode = 1;
  results.error = err instanceof Error ? err.message.split("\n")[0] : String(err);
  log(`the run broke: ${results.error}`);
  const out = /** @type {ReturnType<typeof createService> | null} */ (service)?.output();
  // The service's own output says why it broke more often than our stack does.
  if (out) console.error(`--- service output (tail) ---\n${out.slice(-4_000)}`);
  else console.error(err);
} finally {
  log("stopping the service");
  await cleanup();
}
if (interrupted) process.exit(130);
results.wall_clock_s = (now() - started) / 1000;
results.machine.load_average_at_end = os.loadavg();
results.src_changed_during_run = srcChangedSince(startedAtMs);
if (results.src_changed_during_run.length) {
  log(`warning: src/ changed during the run (wrangler dev reloaded; numbers may be disturbed): ${results.src_changed_during_run.join(", ")}`);
}
// A broken run writes failed.{json,md,svg} and leaves the last good latest.* alone.
const rows = writeOutputs(outDir, results, exitCode ? "failed" : "latest");
if (rows.length) console.log(`\n${textTable(rows)}\n`);
if (results.shards) console.log(`\n${shardTextTable(results.shards)}\n`);
if (results.src_changed_during_run.length) console.log("NOTE: src/ changed during this run (wrangler dev reloaded): numbers may be disturbed; rerun.");
console.log(`wall clock ${results.wall_clock_s.toFixed(1)} s; wrote ${path.relative(process.cwd(), outDir) || "."}/${exitCode ? "failed" : "latest"}.{json,md,svg}`);
process.exit(exitCode);
