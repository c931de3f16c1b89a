// A launcher with no orphans (issue 14): whatever kills `npm start` (SIGINT,
// SIGTERM, SIGHUP, SIGKILL of start.mjs alone or of its whole process group),
// wrangler, workerd and the watchdog are gone within 5 s and the port is free;
// and a start on a state directory that a previous runtime still runs on names
// that runtime, stops it and starts, so there are never two runtimes on one state.
//
// The tests run in order on one state directory: each kill test kills the
// service the test before it started, then starts the next one.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { processTable, stillAlive } from "../../scripts/process-tree.mjs";
import { freePort, portIsFree, removeDir, ROOT, startService, tempStateDir, waitFor } from "./support/service.mjs";

/** @typedef {import("../../scripts/process-tree.mjs").Proc} Proc */
/** @typedef {Awaited<ReturnType<typeof startService>>} Service */

const GONE_WITHIN_MS = 5_000;
const stateDir = tempStateDir();
const lockFile = path.join(stateDir, "runtime.pid");
/** @type {Service | null} */
let service = null;
let port = 0;
let apiKey = "";

before(async () => {
  port = await freePort();
});

after(async () => {
  await service?.stop();
  removeDir(stateDir);
});

const readLock = () => JSON.parse(readFileSync(lockFile, "utf8"));
const aliveOf = (/** @type {Proc[]} */ procs) => stillAlive(processTable(), procs);
const describe = (/** @type {Proc[]} */ procs) => procs.map((p) => `${p.pid} ${p.args.slice(0, 100)}`).join("\n");
const role = (/** @type {Proc[]} */ procs, /** @type {RegExp} */ re) => procs.filter((p) => re.test(p.args));
const WORKERD = /workerd serve/;
/** wrangler's dev server: as the launcher runs it (scripts/wrangler-dev.mjs), or the real CLI (not its npm shim). */
const WRANGLER_CLI = /wrangler-dist\/cli\.js dev|scripts\/wrangler-dev\.mjs/;
const WATCHDOG = /start-watchdog\.mjs/;

/** Every `wrangler dev` (the real CLI, not its npm shim) running on our state directory. */
const runtimesOnState = () => processTable().filter((p) => WRANGLER_CLI.test(p.args) && p.args.includes(`--persist-to ${stateDir}`));

/** Starts the service on our state and port, and checks it answers with the development key it keeps there. */
async function start(t, options = {}) {
  const started = Date.now();
  const s = await startService({ stateDir, port, ...options });
  t.diagnostic(`started in ${Date.now() - started} ms`);
  const res = await s.api("GET", "/v1/webhooks?limit=1");
  assert.equal(res.status, 200, res.text);
  if (apiKey) assert.equal(s.apiKey, apiKey, "the development key kept in the state dir is reused");
  apiKey = s.apiKey;
  assert.equal(runtimesOnState().length, 1, `one runtime on the state:\n${describe(runtimesOnState())}`);
  return s;
}

/** The service's processes, checked to be what the tests are about: start.mjs, its watchdog, wrangler and workerd. */
function processesOf(/** @type {Service} */ s) {
  const procs = s.processes();
  for (const [what, re] of /** @type {const} */ ([["start.mjs", /scripts\/start\.mjs/], ["watchdog", WATCHDOG], ["wrangler", WRANGLER_CLI], ["workerd", WORKERD]])) {
    assert.ok(role(procs, re).length, `the service has a ${what} process:\n${describe(procs)}`);
  }
  return procs;
}

/** Waits (5 s at most) for every one of `procs` to be gone and the port to be free. */
async function expectAllGone(t, /** @type {Proc[]} */ procs, /** @type {string} */ what) {
  const killedAt = Date.now();
  await waitFor(() => aliveOf(procs).length === 0, { timeout: GONE_WITHIN_MS, interval: 50, what: `every process to be gone after ${what}` }).catch(
    (err) => assert.fail(`${err.message}; still alive:\n${describe(aliveOf(procs))}`),
  );
  const goneAt = Date.now();
  await waitFor(() => portIsFree(port), { timeout: Math.max(100, GONE_WITHIN_MS - (goneAt - killedAt)), what: `port ${port} to be free` });
  t.diagnostic(`${procs.length} processes gone ${goneAt - killedAt} ms after ${what}; port free after ${Date.now() - killedAt} ms`);
}

/** @type {Array<[string, (s: Service) => void]>} */
const KILLS = [
  ["SIGINT to start.mjs", (s) => process.kill(s.pid, "SIGINT")],
  ["SIGTERM to start.mjs", (s) => process.kill(s.pid, "SIGTERM")],
  ["SIGHUP to start.mjs", (s) => process.kill(s.pid, "SIGHUP")],
  ["SIGKILL of start.mjs alone", (s) => process.kill(s.pid, "SIGKILL")],
  [
    "SIGKILL of start.mjs's process group",
    (s) => {
      // startService spawns start.mjs detached, so its group is its own (as a shell job's would be).
      assert.equal(processTable().find((p) => p.pid === s.pid)?.pgid, s.pid);
      process.kill(-s.pid, "SIGKILL");
    },
  ],
];

for (const [what, kill] of KILLS) {
  test(`${what}: wrangler, workerd and the watchdog are gone within 5 s, the port is free, and the next start works`, { timeout: 90_000 }, async (t) => {
    service ??= await start(t);
    const procs = processesOf(service);
    kill(service);
    await expectAllGone(t, procs, what);
    assert.ok(!existsSync(lockFile), "the lock file goes with the runtime");
    service = await start(t);
    assert.doesNotMatch(service.output(), /previous runtime|stale/, "nothing was left for the next start to find");
  });
}

test("a runtime whose start.mjs and watchdog were SIGKILLed is named and stopped by the next start, which then starts", { timeout: 90_000 }, async (t) => {
  assert.ok(service);
  const procs = processesOf(service);
  const { wrangler } = readLock();
  // What a failure of the launcher alone leaves: wrangler and workerd, still holding the port.
  process.kill(role(procs, WATCHDOG)[0].pid, "SIGKILL");
  process.kill(service.pid, "SIGKILL");
  await service.exited;
  await new Promise((r) => setTimeout(r, 1_000));
  const orphans = aliveOf(procs);
  assert.ok(role(orphans, WORKERD).length && orphans.some((p) => p.pid === wrangler), `wrangler and workerd live on:\n${describe(orphans)}`);
  assert.equal(await portIsFree(port), false, "and hold the port");

  service = await start(t);
  const message = `[start] a previous runtime for ${stateDir} is still running (wrangler pid ${wrangler}, port ${port}); stopping it`;
  assert.ok(service.output().includes(message), `start.mjs says:\n${message}\n--- it said ---\n${service.output()}`);
  assert.deepEqual(aliveOf(orphans), [], "the previous runtime is gone");
});

test("a second start on the same state (another port) stops the first one, so two never run on one state", { timeout: 90_000 }, async (t) => {
  assert.ok(service);
  const first = service;
  const procs = processesOf(first);
  const { launcher, wrangler } = readLock();
  const firstPort = port;
  port = await freePort();
  service = await start(t);
  assert.match(service.output(), new RegExp(`previous runtime for .* is still running \\(launcher pid ${launcher}, wrangler pid ${wrangler}, port ${firstPort}\\); stopping it`));
  assert.deepEqual(await first.exited, { code: 0, signal: null }, "the first start.mjs stopped the normal way");
  assert.deepEqual(aliveOf(procs), [], "none of the first runtime's processes is left");
  assert.ok(await portIsFree(firstPort), "the first port is free");
  assert.equal(readLock().launcher, service.pid, "the lock names the second start");
});

test("a wrangler dev started by hand on the same state (no lock file) is found and stopped too", { timeout: 90_000 }, async (t) => {
  assert.ok(service);
  const { exit, survivors } = await service.stop();
  assert.deepEqual([exit, survivors], [{ code: 0, signal: null }, []]);
  service = null;
  assert.ok(!existsSync(lockFile));
  const inspector = await freePort();
  const wranglerBin = path.join(ROOT, "node_modules", ".bin", "wrangler");
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir, "--inspector-port", String(inspector)];
  const byHand = spawn(wranglerBin, args, { cwd: ROOT, detached: true, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  const handProcs = () => processTable().filter((p) => p.pgid === byHand.pid);
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, { timeout: 60_000, what: "wrangler dev to answer" });
    const procs = handProcs();
    service = await start(t);
    assert.match(service.output(), new RegExp(`previous runtime for .* is still running \\(wrangler pid \\d+\\); stopping it`));
    assert.deepEqual(aliveOf(procs), [], "the hand-started wrangler and its workerd are gone");
  } finally {
    for (const p of handProcs()) process.kill(p.pid, "SIGKILL");
  }
});

test("kill -9 of the service (support/service.mjs) takes the watchdog too, before it can clean up; the next start ignores the stale lock", { timeout: 90_000 }, async (t) => {
  assert.ok(service);
  const procs = processesOf(service);
  await service.kill9();
  service = null;
  assert.deepEqual(aliveOf(procs), [], "every process is gone");
  assert.ok(existsSync(lockFile), "the lock file is still there: nothing had time to stop gracefully, as after a machine failure");

  // A stale lock whose launcher pid now belongs to someone else entirely (pid reuse): not ours, so not touched.
  const bystander = spawn("sleep", ["60"], { stdio: "ignore" });
  try {
    writeFileSync(lockFile, JSON.stringify({ ...readLock(), launcher: bystander.pid }));
    service = await start(t);
    assert.match(service.output(), new RegExp(`ignoring a stale .*runtime\\.pid \\(its launcher, pid ${bystander.pid}, is gone\\)`));
    assert.doesNotMatch(service.output(), /previous runtime/);
    assert.equal(bystander.exitCode, null, "the unrelated process the stale lock named was left alone");
    assert.equal(readLock().launcher, service.pid, "the lock names the new start");
  } finally {
    bystander.kill("SIGKILL");
  }
});
