// Turns the raw results into the summary table (terminal and markdown), the
// JSON dump, and the markdown report next to the SVG chart.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PRICES } from "./cost.mjs";
import { renderSvg } from "./svg.mjs";

/** The issue's targets, in one place so the table and the JSON agree. */
export const TARGETS = {
  ingest_p99_ms: 50,
  /** Closed loop of 8 ingest clients during the burst (issue 16). */
  ingest_closed_p99_ms: 100,
  e2e_p50_healthy_ms: 250,
  fanout10_dps: 400,
  fanout10_ratio: 0.3,
  usd_per_million: { 1: 3.0, 10: 1.2 },
};

const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "n/a" : Number(v).toFixed(digits));
const ms = (v) => (v === null || v === undefined ? "n/a" : `${fmt(v, v < 10 ? 1 : 0)} ms`);
const verdict = (ok) => (ok === null ? "n/a" : ok ? "pass" : "MISS");

/**
 * Table rows: {metric, value, target, ratio, verdict}. `ratio` is the value over
 * the trivial-request ceiling (1a) where that comparison means something.
 * @param {any} r the results object from run.mjs
 */
export function tableRows(r) {
  const rows = [];
  const ceiling = r.ceiling?.health?.rps ?? null;
  const ratio = (v) => (ceiling && v !== null && v !== undefined ? fmt(v / ceiling, 2) : "");
  const h = r.ceiling?.health;
  if (h) rows.push({ metric: `ceiling: GET /health (${h.concurrency} conns)`, value: `${fmt(h.rps, 0)} req/s, p50 ${ms(h.latency_ms.p50)}, p99 ${ms(h.latency_ms.p99)}`, target: "", ratio: "1.00", verdict: "" });
  for (const d of r.ceiling?.do_fetch ?? []) {
    const value = d.status === "ok" ? `${fmt(d.fetches_per_second, 0)} fetches/s (${d.count} in ${fmt(d.duration_ms, 0)} ms)` : d.status === "n/a" ? `n/a (HTTP ${d.http_status})` : `error (HTTP ${d.http_status})`;
    rows.push({ metric: `ceiling: DO fetch, concurrency ${d.concurrency}`, value, target: "", ratio: d.status === "ok" ? ratio(d.fetches_per_second) : "", verdict: "" });
  }
  const ing = r.ingest?.single;
  if (ing) {
    const p99 = ing.latency_ms.p99;
    rows.push({
      metric: `ingest @ ${ing.rate}/s for ${ing.duration_s} s, ${r.config.ingestFanOut} webhooks (p50/p99/max)`,
      value: `${ms(ing.latency_ms.p50)} / ${ms(p99)} / ${ms(ing.latency_ms.max)} (${ing.accepted}/${ing.sent} accepted, ${ing.missed_schedule} late sends)`,
      target: `p99 <= ${TARGETS.ingest_p99_ms} ms`,
      ratio: "",
      verdict: verdict(p99 === null ? null : p99 <= TARGETS.ingest_p99_ms),
    });
  }
  const burst = r.ingest?.during_burst;
  if (burst) {
    const { paced, closed } = burst;
    rows.push({
      metric: `ingest @ ${paced.rate}/s during the fan-out ${burst.fan_out} burst (p50/p99/max)`,
      value: `${ms(paced.latency_ms.p50)} / ${ms(paced.latency_ms.p99)} / ${ms(paced.latency_ms.max)} (${paced.accepted}/${paced.sent} accepted)`,
      target: `p99 <= ${TARGETS.ingest_p99_ms} ms`,
      ratio: "",
      verdict: verdict(paced.latency_ms.p99 === null ? null : paced.latency_ms.p99 <= TARGETS.ingest_p99_ms),
    });
    rows.push({
      metric: `ingest, ${closed.concurrency} clients closed loop, during the burst (p50/p99)`,
      value: `${ms(closed.latency_ms.p50)} / ${ms(closed.latency_ms.p99)}; ${fmt(closed.events_per_s, 0)} events/s (${closed.accepted}/${closed.sent} accepted)`,
      target: `p99 <= ${TARGETS.ingest_closed_p99_ms} ms`,
      ratio: "",
      verdict: verdict(closed.latency_ms.p99 === null ? null : closed.latency_ms.p99 <= TARGETS.ingest_closed_p99_ms),
    });
  }
  // Where the ingest tail goes (Server-Timing): the Worker's own time, its D1 insert, and outside the Worker.
  const split = (label, x) =>
    x?.split?.answered_with_timing
      ? rows.push({
          metric: `${label}: where the time goes (p50/p99)`,
          value:
            `in the Worker ${ms(x.split.app_ms.p50)} / ${ms(x.split.app_ms.p99)} (its D1 insert ${ms(x.split.d1_ms.p50)} / ${ms(x.split.d1_ms.p99)}); outside it ${ms(x.split.outside_ms.p50)} / ${ms(x.split.outside_ms.p99)}` +
            (x.health?.ok ? `; a trivial GET /health sent alongside (${x.health.rate}/s): ${ms(x.health.latency_ms.p50)} / ${ms(x.health.latency_ms.p99)}` : ""),
          target: "",
          ratio: "",
          verdict: "",
        })
      : undefined;
  split("ingest alone", r.ingest?.single);
  if (burst) {
    split("ingest paced, during the burst", burst.paced);
    split("ingest closed loop, during the burst", burst.closed);
  }
  const b = r.ingest?.batch;
  if (b) {
    const value = b.status === "n/a" ? `n/a (HTTP ${b.http_status})` : `${fmt(b.events_per_s, 0)} events/s; per batch of ${b.batch_size}: p50 ${ms(b.latency_ms.p50)}, p99 ${ms(b.latency_ms.p99)} (${b.accepted_batches}/${b.batches} ok)`;
    rows.push({ metric: "batch ingest (POST /v1/events/batch)", value, target: "", ratio: "", verdict: "" });
  }
  const low = r.e2e?.find((s) => s.load?.mode === "open");
  if (low) {
    const p50 = low.latency_ms.p50;
    rows.push({
      metric: `e2e latency, healthy receiver (${low.load.rate}/s, fan-out ${low.fan_out})`,
      value: `p50 ${ms(p50)}, p99 ${ms(low.latency_ms.p99)}, max ${ms(low.latency_ms.max)}`,
      target: `p50 <= ${TARGETS.e2e_p50_healthy_ms} ms`,
      ratio: "",
      verdict: verdict(p50 === null ? null : p50 <= TARGETS.e2e_p50_healthy_ms),
    });
  }
  for (const s of r.e2e ?? []) {
    if (s.load?.mode !== "closed") continue;
    const isTen = s.fan_out === 10 && !s.with_ingest;
    const okRate = s.sustained_dps >= TARGETS.fanout10_dps && (!ceiling || s.sustained_dps / ceiling >= TARGETS.fanout10_ratio);
    rows.push({
      metric: `e2e fan-out ${s.fan_out}${alongside(s)}: sustained deliveries/s`,
      value: `${fmt(s.sustained_dps, 0)} steady (${fmt(s.overall_dps, 0)} overall), ${fmt(s.events_per_s, 0)} events/s, window ${s.load.window}${s.duration_s < r.config.e2eMs / 1000 - 0.5 ? `, only ${fmt(s.duration_s, 1)} s (time budget)` : ""}`,
      target: isTen ? `>= ${TARGETS.fanout10_dps}/s and >= ${TARGETS.fanout10_ratio} x ceiling` : "",
      ratio: ratio(s.sustained_dps),
      verdict: isTen ? verdict(okRate) : "",
    });
    rows.push({
      metric: `e2e fan-out ${s.fan_out}${alongside(s)}: latency under saturation`,
      value: `p50 ${ms(s.latency_ms.p50)}, p99 ${ms(s.latency_ms.p99)}; undelivered ${s.undelivered}/${s.deliveries_expected}${s.duplicates ? `, ${s.duplicates} duplicates` : ""}`,
      target: "",
      ratio: "",
      verdict: "",
    });
  }
  for (const s of r.e2e ?? []) {
    if (s.load?.mode !== "closed") continue;
    const target = s.with_ingest ? undefined : TARGETS.usd_per_million[s.fan_out];
    const usd = s.cost?.usdPerMillion ?? null;
    const why = !s.cost ? (s.metrics_problem ?? "/metrics absent") : s.cost.reset ? "counters reset mid-scenario: service reloaded?" : "no succeeded deliveries counted";
    const counted = s.cost && !s.cost.reset && Math.abs(s.cost.deliveries - s.cost.receiver_deliveries) > 0.02 * s.cost.receiver_deliveries ? `; metrics counted ${s.cost.deliveries} deliveries, receiver got ${s.cost.receiver_deliveries}` : "";
    rows.push({
      metric: `cost per million deliveries, fan-out ${s.fan_out}${alongside(s)}`,
      value: usd === null ? `n/a (${why})` : `$${fmt(usd, 2)}${s.cost.missing.length ? ` (missing: ${s.cost.missing.join(", ")})` : ""}${counted}`,
      target: target ? `<= $${fmt(target, 2)}` : "",
      ratio: "",
      verdict: target ? verdict(usd === null ? null : usd <= target) : "",
    });
  }
  return rows;
}

/** The label of the scenario run with another account's ingest alongside (the ingest-during-burst one). */
const alongside = (s) => (s.with_ingest ? " with ingest alongside" : "");

// ---------------------------------------------------------------------------
// The shard comparison (bench/shards.mjs)

/** Columns of the shard table: key, heading. */
const SHARD_COLUMNS = [
  ["shards", "shards"],
  ["ceiling", "ceiling req/s"],
  ["dps", "deliveries/s"],
  ["ratio", "× ceiling"],
  ["shard", "shard"],
  ["accounts", "accounts (sending)"],
  ["events", "events Δ"],
  ["attempts", "attempts Δ"],
  ["queries", "D1 queries Δ"],
  ["written", "D1 rows written Δ"],
  ["control", "control D1 queries Δ"],
];

const int = (v) => (v === null || v === undefined || Number.isNaN(v) ? "n/a" : String(Math.round(v)));

/**
 * Rows of the shard table, one per shard of each run (the run's own figures on its first row),
 * and a Σ row under runs with more than one shard.
 * @param {{runs: any[]}} shards results.shards
 */
export function shardTableRows(shards) {
  const rows = [];
  for (const run of shards?.runs ?? []) {
    const e = run.e2e;
    const ceiling = run.ceiling?.rps ?? null;
    const head = {
      shards: run.reported_shards !== null && run.reported_shards !== undefined && run.reported_shards !== run.shards ? `${run.shards} (service: ${run.reported_shards})` : String(run.shards),
      ceiling: int(ceiling),
      dps: int(e?.sustained_dps),
      ratio: ceiling && e ? fmt(e.sustained_dps / ceiling, 2) : "n/a",
      control: int(run.control?.d1_queries),
    };
    const blank = { shards: "", ceiling: "", dps: "", ratio: "", control: "" };
    if (!run.per_shard?.length) {
      rows.push({ ...head, shard: `n/a (${run.shards_route ?? "no shard figures"})`, accounts: "", events: "", attempts: "", queries: "", written: "" });
      continue;
    }
    const line = (s) => ({
      accounts: `${int(s.accounts)} (${s.sending})`,
      events: int(s.events),
      attempts: int(s.delivery_attempts),
      queries: int(s.d1_queries),
      written: int(s.d1_rows_written),
    });
    run.per_shard.forEach((s, i) => rows.push({ ...(i === 0 ? head : blank), shard: `#${s.index}`, ...line(s) }));
    if (run.per_shard.length > 1) {
      const sum = (k) => (run.per_shard.some((s) => s[k] === null || s[k] === undefined) ? null : run.per_shard.reduce((a, s) => a + s[k], 0));
      const total = { index: "Σ", accounts: sum("accounts"), sending: sum("sending"), events: sum("events"), delivery_attempts: sum("delivery_attempts"), d1_queries: sum("d1_queries"), d1_rows_written: sum("d1_rows_written") };
      rows.push({ ...blank, shard: "Σ", ...line(total) });
    }
  }
  return rows;
}

/** One line per run under the shard table: the load, what was received, placement, CPU. */
function shardNotes(shards) {
  return (shards?.runs ?? []).map((run) => {
    const e = run.e2e;
    const notes = [`**SHARDS=${run.shards}:**`];
    if (run.reported_shards === null || run.reported_shards === undefined) notes.push(`no shard figures (${run.shards_route});`);
    else if (run.reported_shards !== run.shards) notes.push(`**the service reports ${run.reported_shards} shard(s)**, so SHARDS was not honoured;`);
    notes.push(`up in ${fmt(run.startup_s, 1)} s;`);
    if (run.reported_shards > 1) notes.push(`${run.accounts_created} accounts made to place ${run.sending_accounts.length} ${run.placement_even ? "evenly" : "(**not evenly**: the placement tries ran out)"};`);
    if (e) {
      notes.push(
        `${fmt(e.duration_s, 1)} s of load, ${e.events_accepted} events accepted (${fmt(e.events_per_s, 0)}/s), ${e.deliveries_received}/${e.deliveries_expected} deliveries received` +
          `${e.duplicates ? `, ${e.duplicates} duplicates` : ""}, ${fmt(e.overall_dps, 0)}/s overall, latency p50 ${ms(e.latency_ms.p50)}, p99 ${ms(e.latency_ms.p99)};`,
      );
      if (e.cost?.usdPerMillion !== null && e.cost?.usdPerMillion !== undefined) notes.push(`$${fmt(e.cost.usdPerMillion, 2)} per million deliveries;`);
    }
    if (run.cpu) notes.push(`CPU while sending and draining (share of all cores): ${fmt(run.cpu.machine_busy * 100, 0)} % busy = service ${fmt(run.cpu.service * 100, 0)} % + benchmark ${fmt(run.cpu.bench * 100, 0)} % + other processes ${fmt(run.cpu.other * 100, 0)} %;`);
    const events = run.per_shard?.reduce((a, s) => a + (s.events ?? 0), 0);
    if (e && run.per_shard && events !== e.events_accepted) notes.push(`the shards count ${events} new events, the load had ${e.events_accepted} accepted;`);
    return `- ${notes.join(" ").replace(/;$/, ".")}`;
  });
}

/** The shard comparison as markdown: table, notes, how it was measured. */
export function shardSection(shards) {
  const c = shards.config;
  const rows = shardTableRows(shards);
  const table = rows.length
    ? [
        `| ${SHARD_COLUMNS.map(([, h]) => h).join(" | ")} |`,
        `|${SHARD_COLUMNS.map(() => "---").join("|")}|`,
        ...rows.map((r) => `| ${SHARD_COLUMNS.map(([k]) => mdEscape(r[k])).join(" | ")} |`),
      ].join("\n")
    : "_No shard run finished._";
  return `## Shards

${table}

${shardNotes(shards).join("\n")}

- **How:** per SHARDS value (${c.counts.join(", ")}) a fresh service (\`SHARDS=N npm start\` on a new state directory), ${c.accounts} accounts spread evenly over its shards (made one by one until each shard has its share, each one's shard read from \`GET /v1/admin/shards\`; the extras stay idle: *accounts* counts every account placed on the shard, *(sending)* those under load), each with ${c.fanOut} webhooks to the receiver. Then the ceiling (closed loop, ${c.ceilingConcurrency} connections, \`GET /health\`, ${c.ceilingMs / 1000} s after a 0.5 s warm-up), a settled scrape, and straight away the fan-out ${c.fanOut} saturation load of the main run: ${c.senders} closed-loop senders (spread over the accounts) for ${c.durationMs / 1000} s, held back while more than ${c.window} deliveries are outstanding. *deliveries/s* is the steady rate as in the main table, *× ceiling* over this run's own ceiling.
- **Per shard:** row counts and D1 counters from \`GET /v1/admin/shards\`, after − before the load, both read once the usage counters were flushed (\`USAGE_FLUSH_SECONDS\` = ${c.usageFlushSeconds} s, the same settle as the cost scrape), so they include the settle scrapes' own queries. *D1 queries* are statements run; *rows written* what D1 bills. Control = the configuration database (accounts, keys, webhooks).
`;
}

/** The shard table for the terminal. */
export function shardTextTable(shards) {
  const rows = shardTableRows(shards);
  if (!rows.length) return "shards: no run finished";
  const width = SHARD_COLUMNS.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells) => cells.map((v, i) => String(v).padEnd(width[i])).join("  ").trimEnd();
  return [line(SHARD_COLUMNS.map(([, h]) => h)), line(width.map((w) => "-".repeat(w))), ...rows.map((r) => line(SHARD_COLUMNS.map(([k]) => r[k])))].join("\n");
}

/** Plain-text table for the terminal. */
export function textTable(rows) {
  const cols = ["metric", "value", "target", "ratio", "verdict"];
  const head = { metric: "metric", value: "value", target: "target", ratio: "x ceiling", verdict: "pass/miss" };
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...rows.map((r) => String(r[c]).length))]));
  const line = (r) => cols.map((c) => String(r[c]).padEnd(width[c])).join("  ").trimEnd();
  return [line(head), cols.map((c) => "-".repeat(width[c])).join("  "), ...rows.map(line)].join("\n");
}

const mdEscape = (s) => String(s).replace(/\|/g, "\\|");

/** Markdown table. */
export function markdownTable(rows) {
  return [
    "| metric | value | target | × ceiling | pass/miss |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${[r.metric, r.value, r.target, r.ratio, r.verdict].map(mdEscape).join(" | ")} |`),
  ].join("\n");
}

/** Per-operation breakdown of the cost (ops per delivery and $ per million deliveries). */
function costTable(r) {
  const scenarios = (r.e2e ?? []).filter((s) => s.load?.mode === "closed" && s.cost?.usdPerMillion !== undefined && s.cost?.usdPerMillion !== null);
  if (!scenarios.length) return "_/metrics was not available (404) or counted no succeeded deliveries: no cost figures._";
  const head = `| op | ${scenarios.map((s) => `fan-out ${s.fan_out}${alongside(s)}: ops/delivery | $/M`).join(" | ")} |`;
  const sep = `|---|${scenarios.map(() => "---|---").join("|")}|`;
  // Priced counters first, then any others the service exports (shown, not priced).
  const extra = [...new Set(scenarios.flatMap((s) => Object.keys(s.cost.perDelivery)))].filter((op) => !(op in PRICES));
  const lines = [...Object.keys(PRICES), ...extra].map(
    (op) =>
      `| ${op}${op in PRICES ? "" : " (not priced)"} | ${scenarios
        .map((s) => `${fmt(s.cost.perDelivery[op], 3)} | ${s.cost.usdByOp?.[op] === undefined ? "n/a" : `$${fmt(s.cost.usdByOp[op], 3)}`}`)
        .join(" | ")} |`,
  );
  const total = `| **total** | ${scenarios.map((s) => ` | **$${fmt(s.cost.usdPerMillion, 2)}**`).join(" | ")} |`;
  return [head, sep, ...lines, total].join("\n");
}

/** The markdown report. */
export function markdownReport(r, rows, svgName) {
  const m = r.machine;
  const main = r.parts?.main !== false;
  const shards = r.shards ? `\n${shardSection(r.shards)}` : "";
  const prices = Object.entries(PRICES)
    .map(([op, p]) => `| \`${op}\` | ${p.label} | ${p.usdPerMillion ? `$${p.usdPerMillion.toFixed(p.usdPerMillion < 0.01 ? 3 : 2)} per million` : "not counted"} |`)
    .join("\n");
  const title = `# Rubric Webhooks benchmark (${r.quick ? "--quick" : "full"} run${main ? "" : ", shard comparison only"})`;
  const intro = `${title}

${r.date} · commit \`${m.git_commit}\`${m.git_dirty ? " + uncommitted changes" : ""} · ${m.cpu_count} × ${m.cpu_model} · ${fmt(m.total_memory_gb, 1)} GB · Node ${m.node} · wrangler ${m.wrangler} · wall clock ${fmt(r.wall_clock_s, 0)} s

Everything runs on this one machine: \`wrangler dev\` (workerd), the load generator and the receiver
share its cores, so absolute numbers are local-dev numbers; the ratio to the trivial-request ceiling
is the comparable figure. CPU busy in the second before the service started (other processes):
${m.cpu_busy_before_start === null || m.cpu_busy_before_start === undefined ? "n/a" : `${fmt(m.cpu_busy_before_start * 100, 0)} %`}; 1-minute load average at start / end: ${fmt(m.load_average_at_start?.[0], 2)} / ${fmt(m.load_average_at_end?.[0], 2)}.${
    r.cpu ? ` CPU time over the measured part (share of all cores): ${fmt(r.cpu.machine_busy * 100, 0)} % busy = service (wrangler + workerd) ${fmt(r.cpu.service * 100, 0)} % + benchmark process ${fmt(r.cpu.bench * 100, 0)} % + other processes ${fmt(r.cpu.other * 100, 0)} %.` : ""
  }${r.error ? `\n\n**The run broke:** \`${r.error}\`` : ""}${
    r.src_changed_during_run?.length ? `\n\n**Warning:** src/ changed during the run, so wrangler dev reloaded and the numbers may be disturbed: ${r.src_changed_during_run.map((f) => `\`${f}\``).join(", ")}.` : ""
  }
`;
  if (!main) return `${intro}${shards}\n![throughput and latency](${svgName})\n`;
  return `${intro}
${markdownTable(rows)}

![throughput and latency](${svgName})

## How it was measured

- **Ceiling (1a):** closed loop, ${r.ceiling?.health?.concurrency ?? "?"} keep-alive connections, \`GET /health\`, ${r.config.ceilingMs / 1000} s after a 0.5 s warm-up.
- **Ceiling (1b):** \`POST /v1/admin/probe/fetch\` (one Durable Object fetching the receiver's \`/probe\`); "n/a" while the route does not exist.
- **Ingest:** open loop (drift-corrected schedule, latency from the actual send), ${r.config.ingestRate} events/s for ${r.config.ingestMs / 1000} s into an account with ${
    r.config.ingestFanOut
      ? `${r.config.ingestFanOut} webhook(s); the pipeline delivers behind it`
      : "no webhooks: the API path alone (auth, D1 insert, queue send) while the queue consumer loads each event and finds nothing to deliver. Locally delivery work would compete for the same cores; on Cloudflare it runs elsewhere"
  }. Then batch ingest: ${r.config.batchMs / 1000} s of 2 batches/s of 100 events.
- **Ingest during a burst:** while the fan-out ${r.config.burstFanOut} load is delivered a second time (*with ingest alongside*: its own deliveries/s and cost are reported apart, with no target, since the ingest shares the runtime), the ingest account (no webhooks) sends ${r.config.ingestRate} events/s paced for the first half of it (after 1 s), then ${r.config.burstIngestClients} closed-loop clients for the second half. Alongside the paced ingest (alone and during the burst) a trivial \`GET /health\` goes out ${r.config.healthProbeRate ?? "?"} times a second: the runtime's own latency at that moment, for a request that does no work. Their events' own operations (the ingest figures above, per event) are taken off that scenario's cost.
- **End to end:** a fresh account per scenario with N webhooks to the receiver. Latency is receive time − the time the \`POST /v1/events\` went out, per delivery. Saturation scenarios: ${r.config.senders} closed-loop senders for ${r.config.e2eMs / 1000} s, held back while more than min(${r.config.windowPerEndpoint} × fan-out, ${r.config.windowMax}) deliveries are accepted and not yet received (keeps the pipeline busy and the backlog bounded; latency under saturation is therefore mostly that backlog, by Little's law window ÷ rate); *steady* = receipts between ${"2 s (or 20 %)"} after the start and the end of sending, per second; *overall* = all deliveries / (last receipt − first send). Backlog drain bounded at ${r.config.drainMs / 1000} s.
- **Cost:** \`rubric_billable_ops_total\` and \`rubric_deliveries_total{status="succeeded"}\` from \`GET /metrics\` between scenarios; Δops / Δsucceeded deliveries × price. Accounts and webhooks are all created before the first scrape, so their set-up is not billed to a scenario. The service flushes its counters every \`USAGE_FLUSH_SECONDS\` (${r.config.usageFlushSeconds} s in this run${r.config.usageFlushSeconds < 10 ? ": quick runs shorten the production 10 s to fit, which adds flush writes to the cost" : ", the production setting"}), so each scrape waits that long after the scenario's last delivery and pokes the Worker to flush. Each scrape asks every endpoint's Durable Object for its live backlog (${r.webhooks_total ?? "?"} webhooks → that many DO requests per scrape, included in the figures). The receiver always answers 200, so every delivery is a first-try success. Durable Object duration (GB-s) and Workers CPU time are **not** counted.

## Price table

| counter | what | price |
|---|---|---|
${prices}

## Cost breakdown

${costTable(r)}
${shards}`;
}

/** Writes <name>.json, <name>.md and <name>.svg into `outDir` (each via a temp file, then renamed). */
export function writeOutputs(outDir, results, name = "latest") {
  mkdirSync(outDir, { recursive: true });
  const rows = tableRows(results);
  const put = (name, text) => {
    const file = path.join(outDir, name);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    return file;
  };
  // Without the main part the chart shows the shard runs instead.
  const chart = results.e2e?.length || !results.shards?.runs?.length ? results : { ...results, e2e: results.shards.runs.filter((s) => s.e2e).map((s) => ({ ...s.e2e, legend: `SHARDS=${s.shards}, fan-out ${s.e2e.fan_out}` })) };
  put(`${name}.svg`, renderSvg(chart));
  put(`${name}.json`, `${JSON.stringify({ ...results, table: rows, ...(results.shards ? { shard_table: shardTableRows(results.shards) } : {}) }, null, 2)}\n`);
  put(`${name}.md`, markdownReport(results, rows, `${name}.svg`));
  return rows;
}
