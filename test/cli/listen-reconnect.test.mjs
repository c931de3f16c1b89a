// `rubric listen` never stops silently: when the whole service dies (kill -9 of its process
// tree) and comes back on the same state, the running CLI says it lost the connection,
// reconnects with back-off, says so, and the deliveries held meanwhile arrive in order.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { apiClient, plan, ROOT, useRestartableService, waitFor } from "../e2e/support/service.mjs";

const BIN = path.join(ROOT, "sdk", "typescript", "bin", "rubric.mjs");
const svc = useRestartableService();

test("a listening CLI survives a kill -9 and restart of the service: it reconnects on its own and nothing is lost or reordered", { timeout: 180_000 }, async () => {
  const api = () => apiClient(svc.service.baseUrl, svc.firstApiKey);
  const name = "laptop-r";
  await plan(svc.receiver, name, { delay_ms: 300 });
  const env = { ...process.env, RUBRIC_BASE_URL: svc.service.baseUrl, RUBRIC_API_KEY: svc.firstApiKey, NO_COLOR: "1" };
  const cli = spawn(process.execPath, [BIN, "listen", "--forward-to", `${svc.receiver.url}/hooks/${name}`, "--name", name, "--events", "sample.*"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  cli.stderr.setEncoding("utf8").on("data", (c) => (stderr += c));
  cli.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
  const exited = new Promise((resolve) => cli.on("close", (code) => resolve(code)));
  try {
    await waitFor(() => /Ready: forwarding/.test(stderr), { timeout: 30_000, what: "the CLI to attach" });
    const send = async (i) => (await api()("POST", "/v1/events", { type: "sample.scored", data: { i } })).json.id;
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await send(i));
    await waitFor(() => svc.receiver.received(name).length >= 1, { what: "a first delivery before the kill" });

    await svc.kill();
    await waitFor(() => /Connection lost: .*reconnecting in/.test(stderr), { timeout: 30_000, what: "the CLI to say it lost the connection" });
    await svc.start();
    await waitFor(() => /Reconnected: forwarding/.test(stderr), { timeout: 40_000, what: "the CLI to reconnect by itself" });
    for (let i = 6; i < 8; i++) ids.push(await send(i));

    const delivered = () => [...new Set(svc.receiver.received(name).filter((d) => d.answered === 200).map((d) => JSON.parse(d.body).id))];
    await waitFor(() => delivered().length === ids.length, { timeout: 90_000, what: "every event delivered after the restart" });
    assert.deepEqual(delivered(), ids, "in the order they were accepted");
    // Every lost connection is one line, each reconnect attempt says when it will try.
    for (const line of stderr.split("\n").filter((l) => l.startsWith("Connection lost"))) assert.match(line, /reconnecting in \d+\.\d s/);
    assert.match(stdout, /200 {2}sample\.scored {2}evt_/);
  } finally {
    cli.kill("SIGINT");
    await exited;
  }
});
