// @ts-check
// `<state dir>/runtime.pid`: which launcher, watchdog and wrangler run on a
// state directory, so that a second `npm start` on the same state finds the
// first one (even one whose launcher was killed) instead of starting a second
// runtime over the same D1 files. node: builtins only.
import { linkSync, mkdirSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { descendants } from "./process-tree.mjs";

/**
 * What the lock file holds. Only `launcher` is there from the first moment;
 * `watchdog` and `wrangler` are added as they start.
 * @typedef {{launcher: number, watchdog?: number, wrangler?: number, port?: number, started_at?: string}} RuntimeLock
 */

/** @typedef {import("./process-tree.mjs").Proc} Proc */

/** The lock file of a state directory. */
export const lockFileOf = (/** @type {string} */ stateDir) => path.join(stateDir, "runtime.pid");

/**
 * The lock's content: null when there is none, `{}` when it cannot be parsed
 * (every write is atomic, so that only happens to a file damaged by hand).
 * @param {string} file
 * @returns {Partial<RuntimeLock> | null}
 */
export function readLock(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === "ENOENT") return null;
    throw err;
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

const tmpName = (/** @type {string} */ file) => `${file}.${process.pid}.tmp`;

/**
 * Creates the lock file if there is none. Atomic: of two starts racing for it,
 * exactly one gets it (link(2) fails if the name exists), and nobody ever reads
 * a half-written file.
 * @param {string} file
 * @param {RuntimeLock} lock
 * @returns {boolean} whether this call created it
 */
export function claimLock(file, lock) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tmpName(file);
  writeFileSync(tmp, `${JSON.stringify(lock)}\n`);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Replaces the content of a lock this process holds (atomically, by rename).
 * @param {string} file
 * @param {RuntimeLock} lock
 */
export function updateLock(file, lock) {
  const tmp = tmpName(file);
  writeFileSync(tmp, `${JSON.stringify(lock)}\n`);
  renameSync(tmp, file);
}

/**
 * Removes the lock file if it still names `launcher` (so a launcher that was
 * stopped by a newer one does not remove the newer one's lock on its way out).
 * @param {string} file
 * @param {number | undefined} launcher
 */
export function removeLock(file, launcher) {
  try {
    if (readLock(file)?.launcher === launcher) unlinkSync(file);
  } catch {
    // Best effort: a stale lock is recognised as stale by the next start anyway.
  }
}

// ---------------------------------------------------------------------------
// Finding a previous runtime

/**
 * `wrangler dev` as the npm shim (`.bin/wrangler dev`), as the real CLI
 * (`wrangler-dist/cli.js dev`), or as the launcher runs it (`scripts/wrangler-dev.mjs`).
 */
const WRANGLER_DEV = /wrangler(?:-dist\/cli\.js)?\s+dev(?:\s|$)|wrangler-dev\.mjs(?:\s|$)/;

/** Working directory of a process, where the OS tells (Linux); null elsewhere. */
function cwdOf(/** @type {number} */ pid) {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/**
 * Whether `p` is a `wrangler dev` persisting to `stateDir`, however it was
 * started (an older launcher without a lock file, or by hand).
 * @param {Proc} p
 * @param {string} stateDir
 */
function isWranglerDevOn(p, stateDir) {
  if (!WRANGLER_DEV.test(p.args)) return false;
  const cwd = cwdOf(p.pid);
  const persist = /\s--persist-to(?:=|\s+)(\S+)/.exec(p.args)?.[1];
  if (persist) return path.resolve(cwd ?? process.cwd(), persist) === stateDir;
  // Without --persist-to wrangler keeps its state in <project>/.wrangler/state.
  return cwd !== null && path.join(cwd, ".wrangler", "state") === stateDir;
}

/**
 * Every live process of a previous runtime on `stateDir`: the launcher, watchdog
 * and wrangler the lock names (if they still are what the lock says they are),
 * whatever is left in wrangler's process group (workerd outlives a killed
 * wrangler there), any other `wrangler dev` on the same state, and all their
 * descendants. Never this process or its own children.
 * @param {Proc[]} table
 * @param {string} stateDir
 * @param {Partial<RuntimeLock> | null} lock
 * @returns {Proc[]}
 */
export function findPreviousRuntime(table, stateDir, lock) {
  /** @type {Array<[number | undefined, RegExp]>} */
  const named = [
    [lock?.launcher, /start\.mjs/],
    [lock?.watchdog, /start-watchdog\.mjs/],
    [lock?.wrangler, /wrangler/],
  ];
  const roots = new Set();
  for (const [pid, looksRight] of named) {
    const p = pid ? table.find((row) => row.pid === pid) : undefined;
    if (p && looksRight.test(p.args)) roots.add(p.pid);
  }
  for (const p of table) {
    const inWranglerGroup = lock?.wrangler && p.pgid === lock.wrangler && /wrangler|workerd/.test(p.args);
    if (inWranglerGroup || isWranglerDevOn(p, stateDir)) roots.add(p.pid);
  }
  const self = new Set(descendants(table, [process.pid]).map((p) => p.pid));
  return descendants(table, roots).filter((p) => !self.has(p.pid));
}
