// @ts-check
// Process-table helpers shared by start.mjs, its watchdog and the e2e tests.
// They read `ps` (Linux and macOS alike) instead of /proc, and name a process
// by its pid *and* start time, so a pid the kernel has since handed to someone
// else is never signalled by mistake. node: builtins only.
import { execFileSync } from "node:child_process";

/**
 * One row of the process table.
 * @typedef {{pid: number, ppid: number, pgid: number, state: string, started: string, args: string}} Proc
 */

/**
 * Every live process (zombies left out: they are dead, only not yet reaped).
 * @returns {Proc[]}
 */
export function processTable() {
  const out = execFileSync("ps", ["-A", "-o", "pid=,ppid=,pgid=,stat=,lstart=,args="], {
    encoding: "utf8",
    // The C locale keeps lstart in its five-word English form whatever the user's settings.
    env: { ...process.env, LC_ALL: "C" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const rows = [];
  for (const line of out.split("\n")) {
    // lstart is always five words ("Sun Dec  6 15:50:27 2026"); args is the rest of the line.
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s*(.*)$/.exec(line);
    if (!m || m[4].startsWith("Z")) continue;
    rows.push({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), state: m[4], started: m[5].replace(/\s+/g, " "), args: m[6] });
  }
  return rows;
}

/**
 * The processes of `table` that are one of `roots` or descend from one.
 * @param {Proc[]} table
 * @param {Iterable<number>} roots
 * @returns {Proc[]}
 */
export function descendants(table, roots) {
  /** @type {Map<number, Proc[]>} */
  const children = new Map();
  for (const p of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid)?.push(p);
  }
  const found = new Map();
  const visit = (/** @type {Proc} */ p) => {
    if (found.has(p.pid)) return;
    found.set(p.pid, p);
    for (const c of children.get(p.pid) ?? []) visit(c);
  };
  for (const pid of roots) {
    const p = table.find((row) => row.pid === pid);
    if (p) visit(p);
  }
  return [...found.values()];
}

/**
 * Which of the `known` processes are still alive as themselves (same pid, same start time).
 * @param {Proc[]} table
 * @param {Iterable<Proc>} known
 * @returns {Proc[]}
 */
export function stillAlive(table, known) {
  const live = new Map(table.map((p) => [p.pid, p]));
  return [...known].filter((k) => live.get(k.pid)?.started === k.started).map((k) => /** @type {Proc} */ (live.get(k.pid)));
}

/**
 * Sends `signal` to each process; one that is already gone is not an error.
 * @param {Iterable<{pid: number}>} procs
 * @param {NodeJS.Signals} signal
 * @returns {Error[]} the failures other than "no such process" (e.g. EPERM)
 */
export function signalEach(procs, signal) {
  const errors = [];
  for (const { pid } of procs) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== "ESRCH") errors.push(/** @type {Error} */ (err));
    }
  }
  return errors;
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits up to `ms` for `procs` to exit.
 * @param {Proc[]} procs
 * @param {number} ms
 * @returns {Promise<Proc[]>} those still alive when it gave up (empty when all went)
 */
export async function waitGone(procs, ms) {
  const deadline = Date.now() + ms;
  let alive = stillAlive(processTable(), procs);
  while (alive.length && Date.now() < deadline) {
    await sleep(100);
    alive = stillAlive(processTable(), alive);
  }
  return alive;
}

/**
 * Stops `procs` the polite way, then the hard way: SIGTERM, up to `grace` ms for
 * them to exit, then SIGKILL for the rest and up to one more second for those.
 * @param {Proc[]} procs
 * @param {{grace?: number}} [options]
 * @returns {Promise<Proc[]>} the processes still alive at the end (empty when all went)
 */
export async function terminate(procs, { grace = 2_000 } = {}) {
  signalEach(procs, "SIGTERM");
  const stubborn = await waitGone(procs, grace);
  if (!stubborn.length) return [];
  signalEach(stubborn, "SIGKILL");
  return waitGone(stubborn, 1_000);
}
