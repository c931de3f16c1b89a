// The end-to-end tests' webhook endpoint: a node:http server on 127.0.0.1 that
// verifies every delivery with the SDK's own verifyWebhook before answering.
//
//   POST /hooks/<name>   verified with the secret(s) set by `expect(name, secret)`:
//                        401 when verification fails, else the planned status (default 200)
//
// Every request is recorded with its raw body, headers, and the verification
// outcome, so tests can assert both what arrived and that it verified.
import http from "node:http";
import { verifyWebhook, WebhookVerificationError } from "../../dist/index.js";

/** Starts the receiver; resolves to {url, urlFor(name), expect(name, secrets), plan(name, status), received(name), close()}. */
export async function startVerifyingReceiver() {
  const secrets = new Map();
  const plans = new Map();
  const log = new Map();
  const list = (name) => log.get(name) ?? log.set(name, []).get(name);

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const m = /^\/hooks\/([^/?]+)$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) return void res.writeHead(404).end();
      const name = m[1];
      const raw = Buffer.concat(chunks);
      const entry = { headers: req.headers, body: raw.toString("utf8"), event: null, verified: false, reason: null, status: 0 };
      try {
        entry.event = await verifyWebhook(raw, req.headers, secrets.get(name) ?? []);
        entry.verified = true;
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
        entry.reason = err.reason;
      }
      entry.status = entry.verified ? (plans.get(name) ?? 200) : 401;
      list(name).push(entry);
      res.writeHead(entry.status, { "Content-Type": "application/json" }).end(JSON.stringify({ received: entry.verified, name }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    urlFor: (name) => `${url}/hooks/${name}`,
    /** The secret(s) deliveries to `name` must verify with. */
    expect: (name, secret) => secrets.set(name, secret),
    /** The status verified deliveries to `name` get from now on. */
    plan: (name, status) => plans.set(name, status),
    received: (name) => [...list(name)],
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}
