// A real HTTP receiver on 127.0.0.1 for tests: records every delivery it gets
// and behaves as told (fail N times, answer a status, hang, answer slowly).
//
//   POST /hooks/<name>           a delivery: recorded, answered per the plan
//   PUT  /_control/<name>        set the plan: {fail_times, fail_status, status, delay_ms, body, headers}
//   GET  /_received/<name>       what <name> received: [{headers, body, received_at, answered}]
//   DELETE /_received/<name>     forget <name>'s deliveries and plan
import http from "node:http";

/** Starts the receiver; resolves to {port, url, close, received(name), plan(name, p)}. */
export async function startReceiver({ port = 0 } = {}) {
  const received = new Map();
  const plans = new Map();
  const list = (name) => received.get(name) ?? received.set(name, []).get(name);

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const [, kind, name = ""] = new URL(req.url, "http://x").pathname.split("/");
      const json = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (kind === "_control" && req.method === "PUT") {
        plans.set(name, { ...JSON.parse(body || "{}"), seen: 0 });
        return json(200, { ok: true });
      }
      if (kind === "_received" && req.method === "GET") return json(200, list(name));
      if (kind === "_received" && req.method === "DELETE") {
        received.delete(name);
        plans.delete(name);
        return json(200, { ok: true });
      }
      if (kind !== "hooks" || req.method !== "POST") return json(404, { error: "unknown path" });

      const plan = plans.get(name) ?? { seen: 0 };
      plan.seen += 1;
      plans.set(name, plan);
      const failing = plan.fail_times !== undefined && plan.seen <= plan.fail_times;
      const status = failing ? (plan.fail_status ?? 500) : (plan.status ?? 200);
      const record = { headers: req.headers, body, received_at: Date.now(), answered: status };
      list(name).push(record);
      const answer = () => {
        res.writeHead(status, { "content-type": "text/plain", ...(plan.headers ?? {}) });
        res.end(plan.body ?? (failing ? "failing as planned" : "ok"));
      };
      if (plan.delay_ms) setTimeout(answer, plan.delay_ms);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    received: (name) => list(name),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
