// Raising SHARDS with scripts/move-accounts.mjs (README "Shards"): on a service with SHARDS=1,
// accounts get webhooks and delivered events; the script refuses while an account is active, copies
// the moving accounts' events and attempts once they are disabled, the service comes back with
// SHARDS=4 and shows every account's history as before (events dispatched, attempts succeeded),
// nothing is delivered a second time, new events are delivered, and --delete-source removes the
// originals only once the target holds them.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { devVar, freePort, removeDir, ROOT, startService, tempStateDir, waitFor } from "../e2e/support/service.mjs";
import { startReceiver } from "../support/receiver.mjs";

const SCRIPT = path.join(ROOT, "scripts", "move-accounts.mjs");
const ACCOUNTS = 4;
const EVENTS = 3;

let receiver;
let service;
let stateDir;
let port;

before(async () => {
  receiver = await startReceiver();
  stateDir = tempStateDir();
  port = await freePort();
});
after(async () => {
  await service?.stop();
  await receiver?.close();
  removeDir(stateDir);
});

/** Runs the script (asynchronously: this process is also the receiver, and holds the API's connections). */
const move = (...args) =>
  new Promise((resolve) =>
    execFile(process.execPath, [SCRIPT, "--from", "1", "--to", "4", "--persist-to", stateDir, ...args], { cwd: ROOT, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ status: err ? (err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
const admin = (method, p) => service.api(method, p, undefined, { key: devVar("ADMIN_TOKEN") });

test("accounts move to the shards SHARDS=4 gives them, history and delivery intact", { timeout: 240_000 }, async (t) => {
  service = await startService({ stateDir, port, args: ["--var", "SHARDS:1"] });
  const accounts = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const made = await service.api("POST", "/v1/accounts", { name: `move-${i}`, mode: "test" }, { key: devVar("ADMIN_TOKEN") });
    assert.equal(made.status, 201, made.text);
    const key = made.json.api_key;
    const hook = await service.api("POST", "/v1/webhooks", { name: `move-${i}`, url: `${receiver.url}/hooks/move-${i}`, events: ["*"] }, { key });
    assert.equal(hook.status, 201, hook.text);
    const ids = [];
    for (let n = 0; n < EVENTS; n++) ids.push((await service.api("POST", "/v1/events", { type: "evaluation.completed", data: { n } }, { key })).json.id);
    accounts.push({ id: made.json.id, key, hook: hook.json.id, ids, name: `move-${i}` });
  }
  const okCount = (a) => receiver.received(a.name).filter((r) => r.answered === 200).length;
  await waitFor(() => accounts.every((a) => okCount(a) === EVENTS), { timeout: 30_000, what: "every event delivered once" });

  // Active accounts are refused, with the fix named; the plan is printed first.
  const plan = await move();
  assert.equal(plan.status, 1);
  assert.match(plan.stderr, /disable them first.*POST \/v1\/accounts\/acct_\w+\/disable/);
  const moving = accounts.filter((a) => plan.stdout.includes(`${a.id}: shard 0 →`));
  t.diagnostic(`${moving.length} of ${ACCOUNTS} accounts move (plus the development account, if its hash says so)`);
  if (moving.length === 0) return t.skip("no account's shard changes (1 run in 256)");

  // Every account whose shard changes is disabled (the development account too, if it moves).
  const listed = (await admin("GET", "/v1/accounts?limit=100")).json.data;
  const movers = listed.filter((a) => plan.stdout.includes(`${a.id}: shard 0 →`));
  for (const a of movers) assert.equal((await admin("POST", `/v1/accounts/${a.id}/disable`)).status, 200);
  await service.stop();

  const copied = await move();
  assert.equal(copied.status, 0, copied.stderr);
  // Attempts are rows of their own or entries of packs (src/db/attempt-packs.ts); the API below counts them.
  for (const a of moving) assert.match(copied.stdout, new RegExp(`${a.id}: copied ${EVENTS} events, \\d+ delivery_attempts, \\d+ attempt_packs`));

  service = await startService({ stateDir, port, args: ["--var", "SHARDS:4"] });
  for (const a of movers) assert.equal((await admin("POST", `/v1/accounts/${a.id}/enable`)).status, 200);
  for (const a of accounts) {
    const events = (await service.api("GET", "/v1/events?limit=10", undefined, { key: a.key })).json.data;
    assert.deepEqual(events.map((e) => [e.id, e.status]).sort(), a.ids.map((id) => [id, "dispatched"]).sort(), `${a.id}'s events, as before`);
    const deliveries = (await service.api("GET", `/v1/webhooks/${a.hook}/deliveries?limit=10`, undefined, { key: a.key })).json.data;
    assert.equal(deliveries.length, EVENTS);
    assert.ok(deliveries.every((d) => d.status === "succeeded"), `${a.id}'s deliveries still succeeded`);
    assert.equal((await service.api("POST", "/v1/events", { type: "evaluation.completed", data: { n: "after" } }, { key: a.key })).status, 202);
  }
  await waitFor(() => accounts.every((a) => okCount(a) === EVENTS + 1), { timeout: 30_000, what: "each new event delivered (and nothing twice)" });
  // The restart's recovery sweep has run by now (it comes with the first requests): still nothing twice.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(accounts.map(okCount), accounts.map(() => EVENTS + 1));

  const deleted = await move("--delete-source");
  assert.equal(deleted.status, 0, deleted.stderr);
  for (const a of moving) assert.match(deleted.stdout, new RegExp(`${a.id}: rows deleted from shard 0`));
  for (const a of moving) {
    const events = (await service.api("GET", "/v1/events?limit=10", undefined, { key: a.key })).json.data;
    assert.equal(events.length, EVENTS + 1, `${a.id}'s events live on its new shard`);
  }
});
