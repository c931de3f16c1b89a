// Starts Rubric Webhooks the way `npm start` does (scripts/start.mjs → wrangler dev),
// but with fresh state for every run: a mkdtemp --persist-to dir and a free port.
// Unlike test/e2e/support/service.mjs, the child's pid is known from the first
// moment, so a Ctrl-C during start-up still stops everything.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, ROOT } from "../test/e2e/support/service.mjs";
import { sleep } from "./load.mjs";

const START = path.join(ROOT, "scripts", "start.mjs");

/** Process groups of pid and all its live descendants (wrangler runs in a group of its own). */
function groupsOf(rootPid) {
  let out = "";
  try {
    out = execFileSync("ps", ["-A", "-o", "pid=,ppid=,pgid=,stat="], { encoding: "utf8" });
  } catch {
    return new Set([rootPid]);
  }
  const table = out
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, pgid, stat]) => ({ pid: +pid, ppid: +ppid, pgid: +pgid, zombie: stat.startsWith("Z") }));
  const groups = new Set([rootPid]);
  const seen = new Set([rootPid]);
  const queue = [rootPid];
  while (queue.length) {
    const parent = queue.shift();
    for (const p of table) {
      if (p.ppid === parent && !seen.has(p.pid) && !p.zombie) {
        seen.add(p.pid);
        groups.add(p.pgid);
        queue.push(p.pid);
      }
    }
  }
  return groups;
}

function signalGroups(groups, signal) {
  for (const g of groups) {
    try {
      process.kill(-g, signal);
    } catch (err) {
      if (/** @type {any} */ (err).code !== "ESRCH") throw err;
    }
  }
}

const groupAlive = (g) => {
  try {
    process.kill(-g, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A handle on the service with a fresh (mkdtemp) state directory; `start()` resolves once
 * start.mjs printed RUBRIC_BASE_URL / RUBRIC_API_KEY.
 * `service.stop()` is safe to call at any time, more than once, also while starting.
 * `env` is added to start.mjs's environment (e.g. SHARDS, which start.mjs turns into `--var SHARDS:N`).
 * @param {{vars?: Record<string,string>, env?: Record<string,string>, logLevel?: string, timeoutMs?: number}} [opts]
 */
export function createService({ vars = {}, env = {}, logLevel = "warn", timeoutMs = 90_000 } = {}) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "rubric-bench-"));
  /** @type {import("node:child_process").ChildProcess | null} */
  let child = null;
  const known = new Set();
  let output = "";
  let exitInfo = null;
  let stopped = null;

  const service = {
    stateDir,
    baseUrl: "",
    apiKey: "",
    port: 0,
    output: () => output,
    /** start.mjs's pid (the root of the service's process tree), once started. */
    pid: () => child?.pid ?? null,
    /** Non-null once start.mjs has exited (by itself or by stop()). */
    exitInfo: () => exitInfo,
    async start() {
      this.port = await freePort();
      const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
      child = spawn(process.execPath, [START, "--persist-to", stateDir, "--port", String(this.port), "--", ...varArgs], {
        cwd: ROOT,
        env: { ...process.env, ...env, LOG_LEVEL: logLevel, PORT: String(this.port) },
        // Its own process group, so stop() reaches start.mjs without signalling this process.
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      known.add(child.pid);
      const onData = (c) => {
        // Keep the start-up output (for error messages) and the last bit of whatever follows.
        output = (output + c).slice(-200_000);
      };
      child.stdout?.setEncoding("utf8").on("data", onData);
      child.stderr?.setEncoding("utf8").on("data", onData);
      const exited = new Promise((resolve) => child?.on("exit", (code, signal) => resolve((exitInfo = { code, signal }))));
      this.exited = exited;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exitInfo) throw new Error(`start.mjs exited early (${exitInfo.signal ?? exitInfo.code})\n${output}`);
        const base = /^RUBRIC_BASE_URL=(\S+)$/m.exec(output);
        const key = /^RUBRIC_API_KEY=(\S+)$/m.exec(output);
        if (base && key) {
          this.baseUrl = base[1];
          this.apiKey = key[1];
          // wrangler's group (and workerd in it), recorded now in case start.mjs dies first.
          for (const g of groupsOf(/** @type {number} */ (child.pid))) known.add(g);
          return this;
        }
        await sleep(50);
      }
      throw new Error(`the service did not start within ${timeoutMs / 1000} s\n${output}`);
    },
    /** @type {Promise<unknown> | undefined} */
    exited: undefined,
    /**
     * SIGTERM to start.mjs (which stops wrangler and workerd), SIGKILL to whatever is
     * left after `graceMs`, then removes the state directory.
     */
    stop({ graceMs = 10_000 } = {}) {
      stopped ??= (async () => {
        if (child?.pid) {
          for (const g of groupsOf(child.pid)) known.add(g);
          if (!exitInfo) signalGroups([child.pid], "SIGTERM");
          const deadline = Date.now() + graceMs;
          while (Date.now() < deadline && [...known].some(groupAlive)) await sleep(50);
          signalGroups(known, "SIGKILL");
        }
        rmSync(stateDir, { recursive: true, force: true });
      })();
      return stopped;
    },
    /** Last-resort synchronous cleanup (for process 'exit'): SIGKILL everything, remove the state dir. */
    killSync() {
      if (child?.pid) {
        for (const g of groupsOf(child.pid)) known.add(g);
        signalGroups(known, "SIGKILL");
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return service;
}
