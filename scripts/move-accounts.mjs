#!/usr/bin/env node
// Moves accounts' records to the shard a new SHARDS value gives them (README "Shards": raising
// SHARDS). Only the accounts whose shard changes move: the jump hash keeps all the others where
// they are. Configuration stays in the control database; usage counters are summed over every
// shard on read, so they stay too. Events and delivery attempts are copied; with --delete-source
// (after the deploy with the new SHARDS) the copies' originals are deleted.
//
//   node scripts/move-accounts.mjs --from N --to M [--remote | --persist-to DIR] [--account ID]…
//                                   [--dry-run] [--delete-source]
//
// Each moving account must be disabled (POST /v1/accounts/{id}/disable) and have nothing pending:
// the script refuses otherwise and says which. Copies are INSERT OR IGNORE, so a run cut short is
// run again; the source keeps everything until --delete-source finds the target holding as many
// rows. The local default is the state `npm start` uses (.wrangler/state).
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
/** Rows per SELECT page and per INSERT file (a pack of attempts holds up to ~64 KB: fewer of those). */
const PAGE = { events: 500, delivery_attempts: 500, attempt_packs: 20 };
/** The record tables that move with an account, and their keys (the page order). */
const TABLES = { events: ["account_id", "id"], delivery_attempts: ["webhook_id", "delivery_id", "attempt"], attempt_packs: ["webhook_id", "last_id", "id"] };

function parseArgs(argv) {
  const opts = { from: NaN, to: NaN, remote: false, persistTo: null, accounts: [], dryRun: false, deleteSource: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--from") opts.from = Number(argv[++i]);
    else if (a === "--to") opts.to = Number(argv[++i]);
    else if (a === "--remote") opts.remote = true;
    else if (a === "--persist-to") opts.persistTo = path.resolve(argv[++i]);
    else if (a === "--account") opts.accounts.push(argv[++i]);
    else if (a === "--dry-run") opts.dryRun = true;
    else if (a === "--delete-source") opts.deleteSource = true;
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.from) || !Number.isInteger(opts.to) || opts.from < 1 || opts.to < 1) usage("--from and --to are shard counts (whole numbers ≥ 1)");
  if (opts.remote && opts.persistTo) usage("--remote and --persist-to exclude each other");
  return opts;
}

function usage(problem) {
  console.error(`move-accounts: ${problem}\nUsage: node scripts/move-accounts.mjs --from N --to M [--remote | --persist-to DIR] [--account ID]… [--dry-run] [--delete-source]`);
  process.exit(2);
}

/** The service's own placement function (src/db/shard-hash.ts), compiled on the fly: never restated here. */
async function loadShardOf() {
  const source = readFileSync(path.join(ROOT, "src", "db", "shard-hash.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const dir = mkdtempSync(path.join(tmpdir(), "rubric-shard-hash-"));
  const file = path.join(dir, "shard-hash.mjs");
  writeFileSync(file, outputText);
  try {
    return (await import(pathToFileURL(file).href)).shardOf;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs wrangler; resolves to its stdout, or rejects with the end of what it said. */
function wrangler(args, what) {
  return new Promise((resolve, reject) =>
    execFile(WRANGLER, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${what} failed: ${(stderr || stdout).trim().split("\n").slice(-5).join("\n")}`)) : resolve(stdout),
    ),
  );
}

const where = (opts) => (opts.remote ? ["--remote"] : ["--local", ...(opts.persistTo ? ["--persist-to", opts.persistTo] : [])]);

/** How many migrations the repository has (migrations/NNNN_*.sql). */
const MIGRATIONS = readdirSync(path.join(ROOT, "migrations")).filter((f) => /^\d{4}_.*\.sql$/.test(f)).length;

/** Applies the migrations to a shard the move writes to (it may never have been used), unless it has them all. */
async function migrate(opts, binding) {
  const applied = await d1(opts, binding, { command: "SELECT count(*) AS n FROM d1_migrations" }).then((r) => r[0].n, () => 0);
  if (applied < MIGRATIONS) await wrangler(["d1", "migrations", "apply", binding, ...where(opts)], `wrangler d1 migrations apply ${binding}`);
}

/** Runs SQL on a database (a binding name: DB, DB_SHARD_0…) through wrangler; its rows. */
async function d1(opts, binding, { command, file }) {
  const args = ["d1", "execute", binding, ...where(opts), "--json", "--yes", ...(command ? ["--command", command] : ["--file", file])];
  const out = JSON.parse(await wrangler(args, `wrangler d1 execute ${binding}`));
  return (Array.isArray(out) ? out : [out]).flatMap((r) => r.results ?? []);
}

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
const shardBinding = (i) => `DB_SHARD_${i}`;

const inList = (ids) => `(${ids.map(q).join(", ")})`;

/**
 * Events still pending per account of `ids` on one shard: the outbox rule of
 * src/db/dispatch-receipts.ts (stored `pending`, at or above the shard's dispatch floor, named by
 * no receipt), in SQL.
 */
async function pendingByAccount(opts, shard, ids) {
  const floor = `coalesce((SELECT value FROM scan_marks WHERE name = 'dispatch_floor'), 'evt_')`;
  const sql = `SELECT account_id, count(*) AS n FROM events WHERE account_id IN ${inList(ids)} AND status = 'pending' AND id >= ${floor}
    AND id NOT IN (SELECT j.value FROM dispatch_receipts AS r, json_each(r.event_ids) AS j WHERE r.last_id >= ${floor}) GROUP BY account_id`;
  return new Map((await d1(opts, shardBinding(shard), { command: sql })).map((r) => [r.account_id, r.n]));
}

/** Rows per table and account of `ids` on one shard: "table account" → count. */
async function countsOn(opts, shard, ids) {
  const sql = Object.keys(TABLES)
    .map((t) => `SELECT '${t}' AS t, account_id, count(*) AS n FROM ${t} WHERE account_id IN ${inList(ids)} GROUP BY account_id`)
    .join(" UNION ALL ");
  return new Map((await d1(opts, shardBinding(shard), { command: sql })).map((r) => [`${r.t} ${r.account_id}`, r.n]));
}

/**
 * Copies the rows of the accounts in `moving` (all on shard `from`) to their new shards: a page of
 * each table at a time, read once and written as one file per target shard (in parallel).
 * Returns the rows copied per "table account".
 */
async function copyFrom(opts, from, moving) {
  const dstOf = new Map(moving.map((a) => [a.id, a.dst]));
  const copied = new Map();
  const dir = mkdtempSync(path.join(tmpdir(), "rubric-move-"));
  try {
    const schemas = await Promise.all(Object.keys(TABLES).map((t) => d1(opts, shardBinding(from), { command: `PRAGMA table_info(${t})` })));
    for (const [i, [table, key]] of Object.entries(TABLES).entries()) {
      const columns = schemas[i].map((c) => c.name);
      // Nothing of a moving account is pending (checked first), so a stored `pending` was fanned
      // out: it lands as `dispatched`, needing neither the source's receipts nor its floor.
      const value = (c) => (table === "events" && c === "status" ? `quote(CASE status WHEN 'pending' THEN 'dispatched' ELSE status END)` : `quote(${c})`);
      for (let after = null; ; ) {
        const cursor = after ? ` AND (${key.join(", ")}) > (${after.join(", ")})` : "";
        const rows = await d1(opts, shardBinding(from), {
          command: `SELECT account_id AS owner, ${columns.map((c) => `${value(c)} AS ${c}`).join(", ")}, ${key.map((k) => `quote(${k}) AS k_${k}`).join(", ")}
            FROM ${table} WHERE account_id IN ${inList([...dstOf.keys()])}${cursor} ORDER BY ${key.join(", ")} LIMIT ${PAGE[table]}`,
        });
        const byDst = new Map();
        for (const r of rows) {
          byDst.set(dstOf.get(r.owner), [...(byDst.get(dstOf.get(r.owner)) ?? []), r]);
          copied.set(`${table} ${r.owner}`, (copied.get(`${table} ${r.owner}`) ?? 0) + 1);
        }
        await Promise.all(
          [...byDst].map(([dst, part]) => {
            const file = path.join(dir, `${table}-${dst}.sql`);
            writeFileSync(file, part.map((r) => `INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => r[c]).join(", ")});`).join("\n"));
            return d1(opts, shardBinding(dst), { file });
          }),
        );
        if (rows.length < PAGE[table]) break;
        after = key.map((k) => rows.at(-1)[`k_${k}`]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return copied;
}

/** Groups accounts by a shard of theirs. */
function bySource(moving, shardOfAccount) {
  const out = new Map();
  for (const a of moving) out.set(shardOfAccount(a), [...(out.get(shardOfAccount(a)) ?? []), a]);
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const shardOf = await loadShardOf();
  const all = await d1(opts, "DB", { command: "SELECT id, status FROM accounts ORDER BY id" });
  const chosen = opts.accounts.length ? all.filter((a) => opts.accounts.includes(a.id)) : all;
  const unknown = opts.accounts.filter((id) => !all.some((a) => a.id === id));
  if (unknown.length) throw new Error(`no such account: ${unknown.join(", ")}`);
  const moving = chosen.map((a) => ({ ...a, src: shardOf(a.id, opts.from), dst: shardOf(a.id, opts.to) })).filter((a) => a.src !== a.dst);
  console.log(`${moving.length} of ${chosen.length} account(s) change shard going from SHARDS=${opts.from} to SHARDS=${opts.to}`);
  for (const a of moving) console.log(`  ${a.id}: shard ${a.src} → ${a.dst} (${a.status})`);
  if (opts.dryRun || moving.length === 0) return;
  const sources = bySource(moving, (a) => a.src);
  const targets = bySource(moving, (a) => a.dst);
  const tables = Object.keys(TABLES);
  const held = (counts, a) => tables.map((t) => counts.get(`${t} ${a.id}`) ?? 0);
  const countsOnEach = async (groups) => new Map((await Promise.all([...groups].map(([shard, group]) => countsOn(opts, shard, group.map((a) => a.id))))).flatMap((m) => [...m]));

  if (opts.deleteSource) {
    // After the deploy: the originals go only where the target holds at least as many rows.
    const [there, here] = await Promise.all([countsOnEach(targets), countsOnEach(sources)]);
    for (const a of moving) {
      const [had, has] = [held(here, a), held(there, a)];
      if (has.some((n, i) => n < had[i])) throw new Error(`${a.id}: shard ${a.dst} holds ${has.join("/")} of its ${had.join("/")} ${tables.join("/")} rows; run without --delete-source first`);
    }
    await Promise.all(
      [...sources].map(([src, group]) => {
        const ids = inList(group.map((a) => a.id));
        return d1(opts, shardBinding(src), { command: tables.map((t) => `DELETE FROM ${t} WHERE account_id IN ${ids}`).join("; ") });
      }),
    );
    for (const a of moving) console.log(`${a.id}: rows deleted from shard ${a.src}`);
    return;
  }

  // Copying needs them quiet: disabled, and nothing left pending.
  const active = moving.filter((a) => a.status !== "disabled");
  if (active.length) throw new Error(`disable them first (ingest refuses their keys, their webhooks hold): ${active.map((a) => `POST /v1/accounts/${a.id}/disable`).join("; ")}`);
  const [pending] = await Promise.all([
    Promise.all([...sources].map(([src, group]) => pendingByAccount(opts, src, group.map((a) => a.id)))).then((ms) => new Map(ms.flatMap((m) => [...m]))),
    Promise.all([...targets.keys()].map((dst) => migrate(opts, shardBinding(dst)))),
  ]);
  const busy = moving.filter((a) => pending.get(a.id));
  if (busy.length) throw new Error(`${busy.map((a) => `${a.id} has ${pending.get(a.id)} event(s)`).join(", ")} still pending: wait until GET /v1/admin/health shows none, then run again`);
  for (const [src, group] of sources) {
    const copied = await copyFrom(opts, src, group);
    for (const a of group) console.log(`${a.id}: copied ${held(copied, a).map((n, i) => `${n} ${tables[i]}`).join(", ")} to shard ${a.dst}`);
  }
  console.log(`next: deploy with SHARDS=${opts.to}, enable the accounts, then run again with --delete-source`);
}

main().catch((err) => {
  console.error(`move-accounts: ${err.message}`);
  process.exit(1);
});
