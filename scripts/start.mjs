#!/usr/bin/env node
// `npm start`: runs Rubric Webhooks locally under `wrangler dev` and prints a
// base URL and an API key to use it with. Plain Node, node: builtins only.
//
//   node scripts/start.mjs [--persist-to DIR] [--port N] [-- --var NAME:VALUE … --inspector-port N --log-level L]
//
// 1. writes .dev.vars (random ADMIN_TOKEN and ENCRYPTION_KEY) unless it exists;
// 2. takes <state dir>/runtime.pid, first stopping a previous runtime still running on the
//    same state (one whose launcher was killed, or another `npm start`), and starts a watchdog
//    (scripts/start-watchdog.mjs) that stops wrangler and workerd if this launcher dies;
// 3. applies the local D1 migrations;
// 4. starts `wrangler dev` (through scripts/wrangler-dev.mjs: wrangler's own dev server with
//    its inspector off unless --inspector-port is given) on 127.0.0.1:$PORT (default 8787)
//    and waits for /health;
// 5. makes (or reuses) a development account and API key, kept in <state dir>/dev-account.json;
// 6. prints RUBRIC_BASE_URL=… and RUBRIC_API_KEY=…, then passes wrangler's output through
//    until Ctrl-C / SIGTERM / SIGHUP, which stop wrangler and its workerd children.
//
// Environment: PORT (default 8787), LOG_LEVEL (wrangler's --log-level; its default otherwise),
// SHARDS (how many shard databases to use, 1–4; passed on as `--var SHARDS:N`).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { processTable, terminate } from "./process-tree.mjs";
import { claimLock, findPreviousRuntime, lockFileOf, readLock, removeLock, updateLock } from "./runtime-lock.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DEV_VARS = path.join(ROOT, ".dev.vars");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "wrangler.cmd" : "wrangler");
const HOST = "127.0.0.1";
const WATCHDOG = path.join(ROOT, "scripts", "start-watchdog.mjs");
const WRANGLER_DEV = path.join(ROOT, "scripts", "wrangler-dev.mjs");
const HEALTH_TIMEOUT_MS = 60_000;
/** How long a stopping wrangler gets before its process group is killed outright (all gone within 5 s). */
const STOP_GRACE_MS = 3_000;

const log = (msg) => console.error(`[start] ${msg}`);
function fail(msg, code = 1) {
  log(msg);
  process.exit(code);
}

// ---------------------------------------------------------------------------
// Arguments: start.mjs understands --persist-to and --port (before or after
// `--`); everything else is passed to `wrangler dev` unchanged.
function parseArgs(argv) {
  const opts = { persistTo: null, port: null, help: false, forward: [] };
  let afterDashes = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--" && !afterDashes) {
      afterDashes = true;
      continue;
    }
    const own = /^--(persist-to|port)(?:=(.*))?$/.exec(arg);
    if (own) {
      const value = own[2] ?? argv[++i];
      if (value === undefined || value === "") fail(`${arg} needs a value`);
      if (own[1] === "persist-to") opts.persistTo = path.resolve(value);
      else opts.port = value;
      continue;
    }
    if (!afterDashes && (arg === "-h" || arg === "--help")) {
      opts.help = true;
      continue;
    }
    opts.forward.push(arg);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.help) {
  console.log(
    "Usage: node scripts/start.mjs [--persist-to DIR] [--port N] [-- --var NAME:VALUE … --inspector-port N --log-level L]\n" +
      "Env: PORT (default 8787), LOG_LEVEL (wrangler --log-level).",
  );
  process.exit(0);
}
const port = Number(opts.port ?? process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`invalid port '${opts.port ?? process.env.PORT}'`);
const stateDir = opts.persistTo ?? path.join(ROOT, ".wrangler", "state");
const persistArgs = opts.persistTo ? ["--persist-to", opts.persistTo] : [];
const baseUrl = `http://${HOST}:${port}`;

if (!existsSync(WRANGLER)) fail(`${path.relative(ROOT, WRANGLER)} not found: run \`npm ci\` first`);

// ---------------------------------------------------------------------------
// 1. .dev.vars: created once with fresh random secrets, never overwritten.
function ensureDevVars() {
  const content = [
    "# Local development only: written by `npm start` (scripts/start.mjs) with random values.",
    "# Never reuse these values anywhere else; production secrets are set with `wrangler secret put`.",
    `ADMIN_TOKEN=${randomBytes(32).toString("hex")}`,
    `ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`,
    "ALLOW_PRIVATE_TARGETS=true",
    "ALLOW_INSECURE_URLS=true",
    "",
  ].join("\n");
  try {
    // "wx": fails if the file exists, so two starts at once cannot overwrite each other.
    writeFileSync(DEV_VARS, content, { flag: "wx", mode: 0o600 });
    log("wrote .dev.vars with a new ADMIN_TOKEN and ENCRYPTION_KEY (local development only)");
  } catch (err) {
    if (err.code !== "EEXIST") throw err;
  }
  const vars = {};
  for (const line of readFileSync(DEV_VARS, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    vars[m[1]] = value;
  }
  if (!vars.ADMIN_TOKEN) fail(".dev.vars has no ADMIN_TOKEN: add one (or delete the file to have a new one written)");
  if (!vars.ENCRYPTION_KEY) fail(".dev.vars has no ENCRYPTION_KEY: add one (or delete the file to have a new one written)");
  return vars;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function displayPath(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

// ---------------------------------------------------------------------------
// 2. One runtime per state directory. Two would share the D1 files and Durable
// Object storage, and the older one might still hold its port.
const lockFile = lockFileOf(stateDir);
const startedAt = new Date().toISOString();
const lockData = () => ({ launcher: process.pid, watchdog: watchdog?.pid, wrangler: wrangler?.pid, port, started_at: startedAt });

async function takeOverState() {
  for (let attempt = 1; ; attempt++) {
    const lock = readLock(lockFile);
    const previous = findPreviousRuntime(processTable(), stateDir, lock);
    if (previous.length) await stopPreviousRuntime(previous, lock);
    else if (lock) log(`ignoring a stale ${displayPath(lockFile)} (its launcher, pid ${lock.launcher ?? "?"}, is gone)`);
    if (lock) removeLock(lockFile, lock.launcher);
    if (claimLock(lockFile, lockData())) return;
    // Another start took it between our look and our claim: look again.
    if (attempt === 3) fail(`another start keeps taking ${displayPath(lockFile)}: stop it, or delete that file if nothing runs`);
  }
}

async function stopPreviousRuntime(procs, lock) {
  const launcher = procs.find((p) => p.pid === lock?.launcher);
  const wranglerProc = procs.find((p) => p.pid === lock?.wrangler) ?? procs.find((p) => /wrangler/.test(p.args));
  const names = [
    launcher && `launcher pid ${launcher.pid}`,
    wranglerProc ? `wrangler pid ${wranglerProc.pid}` : `pid ${procs[0].pid}`,
    lock?.port && `port ${lock.port}`,
  ].filter(Boolean);
  log(`a previous runtime for ${displayPath(stateDir)} is still running (${names.join(", ")}); stopping it`);
  // All at once: its launcher (if alive) stops wrangler too, its watchdog cleans up after both.
  const stubborn = await terminate(procs, { grace: STOP_GRACE_MS });
  if (stubborn.length) fail(`could not stop it: run \`kill -9 ${stubborn.map((p) => p.pid).join(" ")}\` and start again`);
  log(`stopped it (${procs.length} process${procs.length === 1 ? "" : "es"})`);
}

// The watchdog: its own process group, so that a kill of this launcher's group
// leaves it to clean up; its stdin is a pipe from here, whose EOF tells it this
// launcher is gone. It is told the pid of each child as soon as it is spawned.
let watchdog = null;

function startWatchdog() {
  watchdog = spawn(process.execPath, [WATCHDOG, String(process.pid), lockFile], {
    cwd: ROOT,
    detached: true,
    stdio: ["pipe", "ignore", "inherit"],
  });
  watchdog.on("error", (err) => log(`could not start the watchdog: ${err.message}`));
  watchdog.stdin.on("error", () => {}); // it died first: nothing to tell it any more
  // Neither keeps this process alive: it always ends with process.exit, and the watchdog follows.
  watchdog.unref();
  watchdog.stdin.unref();
}

const tellWatchdog = (child) => child.pid && watchdog?.stdin.writable && watchdog.stdin.write(`${child.pid}\n`);

// ---------------------------------------------------------------------------
// 3. D1 migrations (idempotent: applied ones are skipped).
const childEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

const migrating = new Set();

// The control database and every shard in use (SHARDS, as wrangler dev will see it).
const shardVar = opts.forward.find((a, i) => opts.forward[i - 1] === "--var" && a.startsWith("SHARDS:"));
const shards = Number(shardVar?.slice("SHARDS:".length) ?? process.env.SHARDS ?? 1);
if (!Number.isInteger(shards) || shards < 1 || shards > 4) {
  fail(`SHARDS must be 1 to 4 (wrangler.toml binds DB_SHARD_0 to DB_SHARD_3; bind more to go further), not ${shards}`);
}
const DATABASES = ["DB", ...Array.from({ length: shards }, (_, i) => `DB_SHARD_${i}`)];

function applyMigrationsTo(binding) {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, ["d1", "migrations", "apply", binding, "--local", ...persistArgs], {
      cwd: ROOT,
      // CI=true: answer wrangler's confirmation prompt without a terminal.
      env: { ...childEnv, CI: "true" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    migrating.add(child);
    tellWatchdog(child);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      migrating.delete(child);
      code === 0 ? resolve() : reject(new Error(`wrangler d1 migrations apply ${binding} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/**
 * Every database gets the same migrations, all at once (each is its own SQLite file locally). On a
 * loaded machine one of the parallel runs can meet SQLITE_BUSY in the local storage they share; a
 * failed one is run again alone (migrations are idempotent), twice at most, before giving up.
 */
async function applyMigrations() {
  const results = await Promise.allSettled(DATABASES.map(applyMigrationsTo));
  for (const [i, r] of results.entries()) {
    if (r.status === "fulfilled") continue;
    for (let again = 1; ; again++) {
      log(`${r.reason.message}; trying ${DATABASES[i]} again on its own`);
      try {
        await applyMigrationsTo(DATABASES[i]);
        break;
      } catch (err) {
        if (again === 2) throw err;
      }
    }
  }
  log(`migrations applied to ${DATABASES.join(", ")}`);
}

function portIsFree() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------
// 4. wrangler dev, in its own process group so that stopping it reaches workerd too
// (and a Ctrl-C in the terminal reaches only this launcher, which stops it in order).
let wrangler = null;
let wranglerExit = null; // resolves to {code, signal} once wrangler has exited
let stopping = false;

function killGroup(signal) {
  if (!wrangler) return;
  try {
    process.kill(-wrangler.pid, signal);
  } catch (err) {
    if (err.code !== "ESRCH") log(`could not signal wrangler's process group: ${err.message}`);
  }
}

function startWrangler() {
  // wrangler-dev.mjs is `wrangler dev` without the inspector proxy (see there why).
  const args = [WRANGLER_DEV, "--ip", HOST, "--port", String(port), ...persistArgs];
  if (process.env.LOG_LEVEL) args.push("--log-level", process.env.LOG_LEVEL);
  if (!shardVar && process.env.SHARDS) args.push("--var", `SHARDS:${shards}`);
  args.push(...opts.forward);
  wrangler = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ["ignore", "inherit", "inherit"] });
  tellWatchdog(wrangler);
  updateLock(lockFile, lockData());
  wranglerExit = new Promise((resolve) => {
    wrangler.on("error", (err) => {
      log(`could not start wrangler: ${err.message}`);
      resolve({ code: 1, signal: null });
    });
    wrangler.on("exit", (code, signal) => resolve({ code, signal }));
  });
  wranglerExit.then(({ code, signal }) => {
    // Whatever wrangler left behind in its group (workerd) goes with it.
    killGroup("SIGKILL");
    if (stopping) return;
    log(`wrangler exited by itself (${signal ?? `exit code ${code}`})`);
    process.exit(code ?? 1);
  });
}

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of migrating) if (child.exitCode === null) child.kill(signal);
  if (wrangler && wrangler.exitCode === null && wrangler.signalCode === null) {
    killGroup(signal);
    const timer = setTimeout(() => killGroup("SIGKILL"), STOP_GRACE_MS);
    await wranglerExit;
    clearTimeout(timer);
  }
  process.exit(0);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
// Last resort if this script dies of an error: do not leave workerd running.
// (If it dies of SIGKILL, the watchdog does this.) The lock goes with it.
process.on("exit", () => {
  if (wrangler && wrangler.exitCode === null && wrangler.signalCode === null) killGroup("SIGTERM");
  removeLock(lockFile, process.pid);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// 5. Wait for the Worker to answer.
async function waitForHealth() {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  log(`${baseUrl}/health did not answer 200 within ${HEALTH_TIMEOUT_MS / 1000} s; stopping`);
  stopping = true;
  killGroup("SIGTERM");
  await Promise.race([wranglerExit, sleep(STOP_GRACE_MS)]);
  killGroup("SIGKILL");
  process.exit(1);
}

/**
 * A GET repeated (10 s each, up to 5 tries) while the answer is a network error,
 * a timeout or a 5xx: wrangler's dev proxy now and then drops or stalls one
 * request while the runtime catches up after a restart, and a saved key must
 * not be given up (and a new account made) for that.
 */
async function getPatiently(url, headers) {
  for (let tries = 1; ; tries++) {
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status < 500 || tries === 5) return res;
    } catch (err) {
      if (tries === 5) throw err;
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------
// 6. The development account and its API key (plaintext kept only in the local state dir).
async function ensureDevAccount(adminToken) {
  const file = path.join(stateDir, "dev-account.json");
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, "utf8"));
      const res = await getPatiently(`${baseUrl}/v1/webhooks?limit=1`, { Authorization: `Bearer ${saved.api_key}` });
      if (res.status === 200) return saved;
      log(`the saved development key was refused (${res.status}); creating a new account`);
    } catch (err) {
      log(`could not reuse ${file} (${err.message}); creating a new account`);
    }
  }
  const res = await fetch(`${baseUrl}/v1/accounts`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "development", mode: "test" }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}: ${text}`);
  const { id, api_key } = JSON.parse(text);
  const saved = { account_id: id, api_key };
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  return saved;
}

// ---------------------------------------------------------------------------
try {
  const vars = ensureDevVars();
  await takeOverState();
  startWatchdog();
  if (!(await portIsFree())) fail(`port ${port} on ${HOST} is in use: stop what runs there or set PORT`);
  await applyMigrations();
  startWrangler();
  await waitForHealth();
  const account = await ensureDevAccount(vars.ADMIN_TOKEN);
  // One write, starting on a fresh line, so wrangler's output cannot split these lines.
  process.stdout.write(
    "\nRubric Webhooks is running. Paste these into your shell:\n" +
      `RUBRIC_BASE_URL=${baseUrl}\n` +
      `RUBRIC_API_KEY=${account.api_key}\n` +
      // Exported, so commands started from that shell (npx rubric, the SDKs) see them too.
      "export RUBRIC_BASE_URL RUBRIC_API_KEY\n" +
      `(Ctrl-C stops it; state is kept in ${displayPath(stateDir)})\n\n`,
  );
} catch (err) {
  log(err?.stack ?? String(err));
  stopping = true;
  killGroup("SIGTERM");
  if (wranglerExit) await Promise.race([wranglerExit, sleep(STOP_GRACE_MS)]);
  killGroup("SIGKILL");
  process.exit(1);
}
