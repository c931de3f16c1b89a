// The shard comparison (issue 16 part 8): the fan-out 10 saturation load, spread over
// accounts on every shard, on a fresh service per SHARDS value (1, 2, 4), each with
// the trivial-request ceiling measured right before its load, and what each shard
// database did during it from `GET /v1/admin/shards`.
import { cpuAccount } from "./cpu.mjs";
import { now, parseJson, request, sleep } from "./load.mjs";
import { createAccount, createWebhooks, endToEnd, healthCeiling, settledScrape } from "./scenarios.mjs";

const NUMBERS = ["accounts", "events", "delivery_attempts", "d1_queries", "d1_rows_read", "d1_rows_written"];
const D1 = ["d1_queries", "d1_rows_read", "d1_rows_written"];
/** A figure as a number, or null when missing or not numeric. */
const num = (v) => (v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : Number(v));

/**
 * `GET /v1/admin/shards` (operator token): {data, problem}. `data` is
 * {shards: [{index, accounts, events, delivery_attempts, d1_queries, d1_rows_read, d1_rows_written}], control: {d1_*}}
 * (shards in index order, missing figures null), or null when the route is absent or failed.
 * @param {import("./scenarios.mjs").Ctx} ctx
 */
export async function scrapeShards(ctx) {
  const res = await request(`${ctx.baseUrl}/v1/admin/shards`, { headers: { authorization: `Bearer ${ctx.adminToken}` }, timeoutMs: 10_000 });
  const json = res.status === 200 ? parseJson(res.text) : null;
  if (!json || !Array.isArray(json.shards)) {
    const problem = res.status === 200 ? "/v1/admin/shards answered 200 without a shards list" : res.status ? `/v1/admin/shards answered HTTP ${res.status}` : `/v1/admin/shards: ${res.error?.message ?? "no answer"}`;
    return { data: null, problem, http_status: res.status };
  }
  const shards = json.shards
    .map((s, i) => ({ index: num(s?.index) ?? i, ...Object.fromEntries(NUMBERS.map((k) => [k, num(s?.[k])])) }))
    .sort((a, b) => a.index - b.index);
  const control = Object.fromEntries(D1.map((k) => [k, num(json.control?.[k])]));
  return { data: { shards, control }, problem: null, http_status: res.status };
}

/** after − before of each number (null where either is missing). */
const delta = (after, before, keys) => Object.fromEntries(keys.map((k) => [k, after?.[k] === null || after?.[k] === undefined || before?.[k] === null || before?.[k] === undefined ? null : after[k] - before[k]]));

/**
 * `count` fresh accounts spread evenly over the shards: accounts are made one at a
 * time and each one's shard read off `GET /v1/admin/shards` (whose row count went up);
 * one whose shard already has its share is left idle (no webhooks, never sends), up to
 * `maxTries` accounts in all, after which idle ones fill the gaps. Placement is the
 * service's hash of the account id, which the benchmark does not copy. Without the
 * route (or with one shard) the first `count` accounts are taken.
 * Returns {accounts: [{apiKey, shard}], created, even}.
 * @param {import("./scenarios.mjs").Ctx} ctx
 * @param {{label: string, count: number, shards: number, maxTries: number, first: {shards: {index: number, accounts: number | null}[]} | null}} opts
 */
export async function placeAccounts(ctx, { label, count, shards, maxTries, first }) {
  /** @type {{apiKey: string, shard: number | null}[]} */
  const chosen = [];
  /** @type {{apiKey: string, shard: number | null}[]} */
  const idle = [];
  const share = Math.ceil(count / Math.max(1, shards));
  const perShard = new Map();
  let last = first;
  let created = 0;
  const limit = first && shards > 1 ? Math.max(count, maxTries) : count;
  while (chosen.length < count && created < limit) {
    const apiKey = await createAccount(ctx, `bench-${label}-${created}`);
    created++;
    if (!last || shards <= 1) {
      chosen.push({ apiKey, shard: last ? 0 : null });
      continue;
    }
    const next = (await scrapeShards(ctx)).data;
    const grew = next?.shards.find((s) => (s.accounts ?? 0) > (last?.shards.find((o) => o.index === s.index)?.accounts ?? 0));
    last = next;
    const shard = grew?.index ?? null;
    if (shard === null) {
      // Nothing to read the placement from any more: take it as it comes.
      chosen.push({ apiKey, shard });
      continue;
    }
    if ((perShard.get(shard) ?? 0) < share) {
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      chosen.push({ apiKey, shard });
    } else idle.push({ apiKey, shard });
  }
  while (chosen.length < count && idle.length) chosen.push(/** @type {any} */ (idle.shift()));
  const even = shards > 1 && chosen.every((a) => a.shard !== null) ? [...Array(shards).keys()].every((i) => chosen.filter((a) => a.shard === i).length === share) : shards <= 1;
  return { accounts: chosen, created, even };
}

/**
 * One SHARDS value on a fresh service: start, spread accounts, webhooks, ceiling, settle,
 * load, settle, read the shards. Stops its service before returning (or throwing).
 * @param {{shards: number, cfg: any, launch: (opts: {env: Record<string, string>}) => Promise<{service: any, ctx: any}>,
 *   stop: () => Promise<void>, log: (msg: string) => void, deadline: number}} opts
 */
export async function shardRun({ shards, cfg, launch, stop, log, deadline }) {
  const label = `sh${shards}`;
  const runStart = now();
  const t0 = now();
  const { service, ctx: base } = await launch({ env: { SHARDS: String(shards) } });
  const ctx = { ...base, remainingMs: () => deadline - now() };
  const alive = () => {
    const exit = service.exitInfo();
    if (exit) throw new Error(`SHARDS=${shards}: the service exited during the run (${exit.signal ?? `exit code ${exit.code}`})`);
  };
  /** @type {any} */
  const out = { shards, label, startup_s: (now() - t0) / 1000 };
  try {
    log(`shards ${shards}: service on ${service.baseUrl}, up in ${out.startup_s.toFixed(1)} s`);
    const first = await scrapeShards(ctx);
    out.shards_route = first.data ? "ok" : first.problem;
    out.reported_shards = first.data?.shards.length ?? null;
    if (!first.data) log(`shards ${shards}: ${first.problem}: no per-shard figures`);
    else if (out.reported_shards !== shards) log(`shards ${shards}: warning: the service reports ${out.reported_shards} shard(s) (is SHARDS honoured by npm start?)`);

    const placed = await placeAccounts(ctx, { label, count: cfg.accounts, shards: out.reported_shards ?? shards, maxTries: cfg.placementTries, first: first.data });
    out.accounts_created = placed.created;
    out.placement_even = placed.even;
    out.sending_accounts = placed.accounts.map((a) => a.shard);
    for (const [j, a] of placed.accounts.entries()) await createWebhooks(ctx, a.apiKey, `${label}-a${j}`, cfg.fanOut);
    const setupDone = now();
    log(
      `shards ${shards}: ${placed.accounts.length} accounts × ${cfg.fanOut} webhooks` +
        (placed.accounts.some((a) => a.shard !== null) ? ` (per shard ${JSON.stringify(countBy(placed.accounts.map((a) => a.shard), out.reported_shards ?? shards))}, ${placed.created} accounts made)` : ""),
    );

    alive();
    log(`shards ${shards}: ceiling GET /health, ${cfg.ceilingConcurrency} connections, ${cfg.ceilingMs / 1000} s`);
    out.ceiling = await healthCeiling(ctx, { concurrency: cfg.ceilingConcurrency, durationMs: cfg.ceilingMs });
    alive();
    if (!out.ceiling.rps) throw new Error(`SHARDS=${shards}: GET /health never answered 200 during the ceiling phase`);

    // Settled counters before the load: the ceiling itself took about a flush interval, so
    // this waits little; then the shards, whose counters flush on the same schedule.
    const flushMs = cfg.usageFlushSeconds * 1000;
    const metricsBefore = (await settledScrape(ctx, { quietSince: setupDone, flushMs })).counters;
    const shardsBefore = (await scrapeShards(ctx)).data;

    // Its fair share of the time left (less the settle after it), like the main scenarios.
    const fair = ctx.remainingMs() - (flushMs + 3_000);
    const durationMs = Math.round(Math.max(1_000, Math.min(cfg.durationMs, fair - 1_000)));
    const drainMs = Math.max(1_000, Math.min(cfg.drainMs, fair - durationMs));
    if (durationMs < cfg.durationMs) log(`shards ${shards}: load shortened to ${durationMs / 1000} s to stay within the time budget`);
    log(`shards ${shards}: fan-out ${cfg.fanOut} from ${placed.accounts.length} accounts, ${cfg.senders} senders, window ${cfg.window} deliveries, ${durationMs / 1000} s`);
    const cpu = service.pid() ? cpuAccount(service.pid()) : null;
    let cpuShare = null;
    const r = await endToEnd(ctx, {
      label,
      fanOut: cfg.fanOut,
      apiKey: placed.accounts[0].apiKey,
      apiKeys: placed.accounts.map((a) => a.apiKey),
      durationMs,
      drainMs,
      flushMs,
      before: metricsBefore,
      closed: { senders: cfg.senders, window: cfg.window },
      afterDrain: () => {
        cpuShare = cpu?.stop() ?? null;
      },
    });
    // Without /metrics endToEnd did not wait for the flush: wait here, then poke the Worker.
    if (!metricsBefore) await settledScrape(ctx, { quietSince: now(), flushMs });
    const shardsAfter = (await scrapeShards(ctx)).data;
    alive();
    if (!r.events_accepted) throw new Error(`SHARDS=${shards}: no event was accepted (statuses ${JSON.stringify(r.statuses)})`);
    out.e2e = r;
    out.cpu = cpuShare;
    out.shards_before = shardsBefore;
    out.shards_after = shardsAfter;
    out.per_shard =
      shardsAfter?.shards.map((s) => {
        const b = shardsBefore?.shards.find((o) => o.index === s.index);
        return {
          index: s.index,
          accounts: s.accounts,
          sending: placed.accounts.filter((a) => a.shard === s.index).length,
          ...delta(s, b ?? null, ["events", "delivery_attempts", ...D1]),
        };
      }) ?? null;
    out.control = shardsAfter && shardsBefore ? delta(shardsAfter.control, shardsBefore.control, D1) : null;
    out.duration_s = (now() - runStart) / 1000;
    log(
      `shards ${shards}: ceiling ${Math.round(out.ceiling.rps)} req/s; ${Math.round(r.sustained_dps)} deliveries/s steady (${(r.sustained_dps / out.ceiling.rps).toFixed(2)} × ceiling), ` +
        `undelivered ${r.undelivered}; per shard attempts ${out.per_shard ? out.per_shard.map((s) => s.delivery_attempts ?? "n/a").join(" / ") : "n/a"}`,
    );
    return out;
  } finally {
    await stop();
  }
}

/** How many of `shards` (indexes, or null) are each index 0..n-1: [n0, n1, …]. */
function countBy(shards, n) {
  return Array.from({ length: n }, (_, i) => shards.filter((s) => s === i).length);
}

/**
 * The whole comparison: one {@link shardRun} per entry of `cfg.counts`, each given an even
 * share of what is left of `cfg.budgetMs`. Returns {config, runs}; a run that breaks throws
 * after what was measured so far is in `into.runs`.
 * @param {{cfg: any, into: {runs: any[]}, launch: any, stop: () => Promise<void>, log: (msg: string) => void}} opts
 */
export async function shardComparison({ cfg, into, launch, stop, log }) {
  const start = now();
  for (const [i, shards] of cfg.counts.entries()) {
    const left = cfg.budgetMs - (now() - start);
    const deadline = now() + left / (cfg.counts.length - i);
    into.runs.push(await shardRun({ shards, cfg, launch, stop, log, deadline }));
    // Lets the previous runtime's processes go before the next one's ceiling.
    await sleep(500);
  }
  return into;
}
