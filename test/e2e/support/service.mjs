// End-to-end helpers: run `scripts/start.mjs` (wrangler dev) against a private
// state directory, call its API, verify deliveries the seed's way, and stop or
// kill -9 everything it started.
import { spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { descendants, processTable, signalEach, stillAlive } from "../../../scripts/process-tree.mjs";
import { startReceiver } from "../../support/receiver.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const START = path.join(ROOT, "scripts", "start.mjs");
/** Set E2E_VERBOSE=1 to see start.mjs / wrangler output while the tests run. */
const VERBOSE = !!process.env.E2E_VERBOSE;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for `promise`, or `ms` at most (without keeping the process alive after it settles). */
async function within(promise, ms) {
  let timer;
  try {
    return await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port that was free a moment ago (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/** Whether something can listen on 127.0.0.1:port right now. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Polls `check` until it returns something truthy; fails after `timeout` ms with `what`. */
export async function waitFor(check, { timeout = 15_000, interval = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      if (err.fatal) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ""}`);
    }
    await sleep(interval);
  }
}

/** A fresh temporary state directory (for --persist-to). */
export const tempStateDir = () => mkdtempSync(path.join(os.tmpdir(), "rubric-e2e-"));
export const removeDir = (dir) => dir && rmSync(dir, { recursive: true, force: true });

const WRANGLER_TMP = path.join(ROOT, ".wrangler", "tmp");
const wranglerTmpEntries = () => (existsSync(WRANGLER_TMP) ? readdirSync(WRANGLER_TMP) : []);

/** Reads one value from the repository's .dev.vars (written by start.mjs). */
export function devVar(name) {
  const text = readFileSync(path.join(ROOT, ".dev.vars"), "utf8");
  const m = new RegExp(`^\\s*${name}\\s*=\\s*(.*?)\\s*$`, "m").exec(text);
  if (!m) throw new Error(`.dev.vars has no ${name}`);
  return m[1].replace(/^(['"])(.*)\1$/, "$2");
}

// ---------------------------------------------------------------------------
// Processes. Every one is named by pid and start time (see scripts/process-tree.mjs),
// so a pid the kernel hands to someone else later is never taken for ours.

/** @typedef {import("../../../scripts/process-tree.mjs").Proc} Proc */

/**
 * The processes of a service right now: those of `known` still alive, and all
 * their descendants (so children started since `known` was taken are in it,
 * and one reparented after its parent died is still found by its own pid).
 * @param {Iterable<Proc>} known
 * @returns {Proc[]}
 */
export function serviceTree(known) {
  const table = processTable();
  return descendants(table, stillAlive(table, known).map((p) => p.pid));
}

const aliveOf = (/** @type {Iterable<Proc>} */ procs) => stillAlive(processTable(), procs);

/**
 * kill -9 of every process of a service at one instant, as a machine failure
 * would do it: per process, never per process group (a crash does not care
 * about groups), and with no chance for start.mjs's watchdog to clean up
 * gracefully (a real crash takes it too). SIGSTOP freezes all of `known` first,
 * the watchdog before the rest, so none can react, fork or be reparented out of
 * sight; the tree is walked again to catch children started since `known` was
 * recorded; then all get SIGKILL. Resolves once every one is gone.
 * The first signal goes out without a `ps` first: `known` is trusted to be
 * recent (pids are not reused within a test run's few minutes).
 * @param {Iterable<Proc>} known the service's processes, recorded at start-up
 * @returns {Promise<number>} when they were frozen: the moment of the "crash"
 */
export async function killServiceTree(known) {
  const recorded = [...known].sort((a, b) => Number(isWatchdog(b)) - Number(isWatchdog(a)));
  signalEach(recorded, "SIGSTOP");
  const crashedAt = Date.now();
  const all = new Map(recorded.map((p) => [p.pid, p]));
  for (const p of serviceTree(recorded)) all.set(p.pid, p);
  signalEach(all.values(), "SIGKILL");
  await waitFor(() => aliveOf(all.values()).length === 0, { timeout: 10_000, interval: 50, what: "killed processes to disappear" });
  return crashedAt;
}

const isWatchdog = (/** @type {Proc} */ p) => /start-watchdog\.mjs/.test(p.args);

// ---------------------------------------------------------------------------
// The service

/**
 * Starts `node scripts/start.mjs --persist-to <stateDir> -- --port <port> …` in
 * its own process group and resolves once it has printed RUBRIC_BASE_URL and
 * RUBRIC_API_KEY. Returns {baseUrl, apiKey, port, stateDir, output(), stop(), kill9(), api}.
 * @param {{stateDir?: string, port?: number, args?: string[], timeout?: number}} [options]
 */
export async function startService({ stateDir, port, args = [], timeout = 90_000 } = {}) {
  port ??= await freePort();
  stateDir ??= tempStateDir();
  const tmpBefore = wranglerTmpEntries();
  // No inspector unless `args` asks for one (--inspector-port): see scripts/wrangler-dev.mjs.
  const child = spawn(process.execPath, [START, "--persist-to", stateDir, "--", "--port", String(port), ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const onData = (chunk) => {
    output += chunk;
    if (VERBOSE) process.stderr.write(chunk);
  };
  // start.mjs as it is now (its pid and start time), the root of everything it starts.
  const launcher = processTable().filter((p) => p.pid === child.pid);
  child.stdout.setEncoding("utf8").on("data", onData);
  child.stderr.setEncoding("utf8").on("data", onData);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let exit = null;
  exited.then((e) => (exit = e));

  const ready = await waitFor(
    () => {
      if (exit) throw Object.assign(new Error(`start.mjs exited early (${exit.signal ?? exit.code})`), { fatal: true });
      const base = /^RUBRIC_BASE_URL=(\S+)$/m.exec(output);
      const key = /^RUBRIC_API_KEY=(\S+)$/m.exec(output);
      return base && key ? { baseUrl: base[1], apiKey: key[1] } : null;
    },
    { timeout, interval: 50, what: "start.mjs to print RUBRIC_BASE_URL and RUBRIC_API_KEY" },
  ).catch(async (err) => {
    await killServiceTree(serviceTree(launcher));
    throw new Error(`${err.message}\n--- start.mjs output ---\n${output}`);
  });

  // Every process of the service (start.mjs, its watchdog, wrangler, workerd, esbuild), by pid.
  /** @type {Map<number, Proc>} */
  const known = new Map();
  const record = () => {
    for (const p of serviceTree([...launcher, ...known.values()])) known.set(p.pid, p);
    return [...known.values()];
  };
  record();
  // wrangler's bundle directories from this start (a killed wrangler cannot remove them itself).
  const ownTmp = wranglerTmpEntries().filter((e) => !tmpBefore.includes(e));

  const service = {
    ...ready,
    port,
    stateDir,
    pid: child.pid,
    /** The service's processes now (start.mjs and everything it started that is still alive). */
    processes: () => aliveOf(record()),
    output: () => output,
    exited,
    api: apiClient(ready.baseUrl, ready.apiKey),
    /** Graceful stop: SIGTERM to start.mjs, which stops wrangler. Returns whatever survived it (then killed). */
    async stop({ grace = 15_000 } = {}) {
      const all = record();
      if (!exit) signalEach(launcher, "SIGTERM");
      await within(exited, grace);
      // Processes signalled a moment ago may take a few ms to go (the watchdog checks after start.mjs).
      const survivors = await waitFor(() => aliveOf(all).length === 0, { timeout: 2_000, interval: 50 }).then(
        () => [],
        () => aliveOf(all),
      );
      await killServiceTree(survivors);
      return { exit, survivors };
    },
    /**
     * kill -9 of every process of the service at once (start.mjs, its watchdog, wrangler,
     * workerd), as a machine failure would; resolves to the moment of the kill once they
     * are all gone and the port is free.
     */
    async kill9() {
      // Recorded at start-up, so the first signal goes out without a `ps` first.
      const killedAt = await killServiceTree(known.values());
      await waitFor(() => portIsFree(port), { timeout: 10_000, what: `port ${port} to be released` });
      for (const e of ownTmp) removeDir(path.join(WRANGLER_TMP, e));
      return killedAt;
    },
  };
  return service;
}

/**
 * Registers node:test hooks for a test file: before its tests, a receiver and
 * the service (started with `args`) are handed to `use({service, receiver})`;
 * after them, both are stopped and the service's state directory removed.
 */
export function useService({ args = [] } = {}, use) {
  const started = {};
  before(async () => {
    started.receiver = await startReceiver();
    started.service = await startService({ args });
    use(started);
  });
  after(async () => {
    await started.service?.stop();
    await started.receiver?.close();
    removeDir(started.service?.stateDir);
  });
}

/**
 * A service to crash and restart: registers hooks that start a receiver and
 * the service on a fresh state directory and port before the file's tests,
 * and stop both and remove the state after them. Returns a handle whose
 * `service` and `receiver` are the live ones, and whose `restart()` kills
 * every process of the service with SIGKILL (as a machine failure would) and
 * starts it again on the same state, port and arguments, resolving to
 * `{killedAt, upAt}`: the moment of the kill and when it answered again
 * (`kill()` and `start()` are the two halves, for a look in between).
 * @param {{args?: string[], port?: number}} [options] `port`: a fixed one (default: a free one)
 */
export function useRestartableService({ args = [], port = 0 } = {}) {
  const handle = {
    /** @type {any} */ receiver: null,
    /** @type {any} */ service: null,
    stateDir: "",
    port: 0,
    /** The development API key of the first start (a restart must reuse it). */
    firstApiKey: "",
    /** kill -9 of the whole service; resolves to the moment of the kill, once all is gone and the port free. */
    kill: () => handle.service.kill9(),
    /** Starts it again on the same state, port and arguments; resolves to when it answered. */
    async start() {
      handle.service = await startService({ stateDir: handle.stateDir, port: handle.port, args });
      return Date.now();
    },
    async restart() {
      const killedAt = await handle.kill();
      return { killedAt, upAt: await handle.start() };
    },
  };
  before(async () => {
    handle.receiver = await startReceiver();
    handle.stateDir = tempStateDir();
    handle.port = port || (await freePort());
    handle.service = await startService({ stateDir: handle.stateDir, port: handle.port, args });
    handle.firstApiKey = handle.service.apiKey;
  });
  after(async () => {
    await handle.service?.stop();
    await handle.receiver?.close();
    removeDir(handle.stateDir);
  });
  return handle;
}

// ---------------------------------------------------------------------------
// HTTP

/** `api(method, path, body?, {key, headers})` → {status, json, text}. */
export function apiClient(baseUrl, defaultKey) {
  return async (method, urlPath, body, { key = defaultKey, headers = {} } = {}) => {
    /** @type {Record<string, string>} */
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    if (body !== undefined) h["Content-Type"] ??= "application/json";
    const res = await fetch(`${baseUrl}${urlPath}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text, headers: res.headers };
  };
}

/** Tells the test receiver how to answer `name` (`{}` resets it to 200 OK). */
export async function plan(receiver, name, p) {
  const res = await fetch(`${receiver.url}/_control/${name}`, { method: "PUT", body: JSON.stringify(p) });
  if (res.status !== 200) throw new Error(`receiver plan failed: ${res.status}`);
}

// ---------------------------------------------------------------------------
// Signatures

/**
 * The seed's verify_webhook.py in node:crypto: X-Rubric-Signature must be
 * "sha256=" + hex HMAC-SHA256 keyed by the UTF-8 bytes of the whole secret over
 * "{X-Rubric-Timestamp}.{raw body}", and the timestamp within 300 s of now.
 */
export function seedVerify(secret, headers, rawBody, now = Date.now()) {
  const signature = headers["x-rubric-signature"];
  const timestamp = headers["x-rubric-timestamp"];
  if (!signature || !timestamp) return false;
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${timestamp}.${rawBody}`, "utf8").digest("hex");
  const a = Buffer.from(signature);
  const b = Buffer.from(`sha256=${expected}`);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return false;
  return Math.abs(now / 1000 - Number(timestamp)) <= 300;
}
