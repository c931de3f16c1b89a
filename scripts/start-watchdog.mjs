// @ts-check
// The launcher's watchdog: makes sure nothing start.mjs started outlives it,
// however it dies. A launcher that is stopped by a signal stops wrangler
// itself, but one that is SIGKILLed (alone or with its process group) cannot,
// and wrangler, running in its own process group, would keep workerd and the
// port. node: builtins only.
//
//   node scripts/start-watchdog.mjs <launcher pid> <lock file>
//
// start.mjs spawns this in a process group of its own (so a kill of the
// launcher's group does not take it too) with a pipe on its stdin, and writes
// the pid of every child it spawns to that pipe. Until the launcher is gone the
// watchdog only records the launcher's process tree, every second or so: workerd is
// reparented when wrangler dies, so it must be known by pid beforehand. When the
// pipe reaches EOF (the launcher exited, for whatever reason), the launcher's pid
// is no longer the launcher, or the watchdog gets SIGTERM, it stops every
// recorded process still alive (SIGTERM, then SIGKILL after a short grace),
// removes the lock file if it still names the launcher, and exits.
import { descendants, processTable, stillAlive, terminate } from "./process-tree.mjs";
import { removeLock } from "./runtime-lock.mjs";

const launcherPid = Number(process.argv[2]);
const lockFile = process.argv[3];
/** SIGTERM → SIGKILL grace: with the ps calls around it, all is gone well within 5 s. */
const GRACE_MS = 2_000;
/** How often the tree is recorded: often while start-up spawns things, then less (each look is a `ps`). */
const recordEvery = () => (process.uptime() < 30 ? 1_000 : 3_000);

// The launcher's stderr may be a pipe nobody reads any more: a failed write must not stop the cleanup.
process.stderr.on("error", () => {});
const log = (/** @type {string} */ msg) => process.stderr.write(`[start] ${msg}\n`);

/** @typedef {import("./process-tree.mjs").Proc} Proc */
/** Every process the launcher started, by pid, as first seen (pid + start time name it). */
const recorded = /** @type {Map<number, Proc>} */ (new Map());
/** Process groups led by a recorded process (wrangler's: workerd stays in it when reparented). */
const groups = new Set();
const table0 = processTable();
const launcher = table0.find((p) => p.pid === launcherPid);
const launcherGroup = launcher?.pgid;

/** Adds `pids` (and everything below them) to the record; false once the launcher is gone. */
function record(/** @type {number[]} */ pids = [], table = processTable()) {
  if (!launcher || !stillAlive(table, [launcher]).length) return false;
  const alive = stillAlive(table, recorded.values()).map((p) => p.pid);
  for (const p of descendants(table, [launcherPid, ...pids, ...alive])) {
    if (p.pid === launcherPid || p.pid === process.pid || p.ppid === process.pid || recorded.has(p.pid)) continue;
    recorded.set(p.pid, p);
    // Not the launcher's own group: that one may hold npm and the shell's job too.
    if (p.pgid === p.pid && p.pgid !== launcherGroup) groups.add(p.pgid);
  }
  return true;
}

let cleaning = false;
async function cleanUp(/** @type {string} */ why) {
  if (cleaning) return;
  cleaning = true;
  clearTimeout(timer);
  const table = processTable();
  const known = stillAlive(table, recorded.values());
  const left = new Map(descendants(table, known.map((p) => p.pid)).map((p) => [p.pid, p]));
  for (const p of table) if (groups.has(p.pgid) && /wrangler|workerd/.test(p.args)) left.set(p.pid, p);
  left.delete(process.pid);
  if (left.size) {
    log(`${why}; stopping what it left running (pids ${[...left.keys()].join(", ")})`);
    const stubborn = await terminate([...left.values()], { grace: GRACE_MS });
    if (stubborn.length) log(`could not stop pids ${stubborn.map((p) => p.pid).join(", ")}: kill them by hand`);
  }
  removeLock(lockFile, launcherPid);
  process.exit(0);
}

/** @type {NodeJS.Timeout | undefined} */
let timer;
function recordNow(table = processTable()) {
  if (record([], table)) timer = setTimeout(recordNow, recordEvery());
  else cleanUp(`the launcher (pid ${launcherPid}) is gone`);
}
recordNow(table0);

// The launcher writes "<pid>\n" for each child it spawns: record it at once rather than up to a second later.
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  const pids = lines.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  if (pids.length && !cleaning) record(pids);
});
process.stdin.on("end", () => cleanUp(`the launcher (pid ${launcherPid}) exited`));
process.stdin.on("error", () => cleanUp(`the launcher's pipe broke`));
process.on("SIGTERM", () => cleanUp("asked to stop (SIGTERM)"));
// A terminal's Ctrl-C or hang-up is for the launcher, which stops wrangler itself; the pipe's EOF follows.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});
