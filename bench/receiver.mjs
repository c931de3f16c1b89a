// The benchmark's webhook receiver: answers every request 200 "ok" at once and
// records when it arrived, so what is measured is the dispatcher, not the receiver.
// Unlike test/support/receiver.mjs it keeps no bodies or headers (only the event
// id), so tens of thousands of deliveries cost little memory or CPU.
import http from "node:http";
import { now } from "./load.mjs";

/**
 * @typedef {object} Receipt
 * @property {number} t        receive time (ms, `now()` clock: same clock as the load generator's send times)
 * @property {string} path     request path, e.g. "/hooks/fan10-3"
 * @property {string|null} eventId  the X-Rubric-Event-Id header
 */

/**
 * Starts the receiver on 127.0.0.1 (port 0 = any free port).
 * @returns {Promise<{url: string, port: number, receipts: Receipt[], counts: Map<string, number>,
 *   errors: Error[], onReceipt: (fn: (r: Receipt) => void) => () => void, close: () => Promise<void>}>}
 */
export async function startReceiver({ port = 0 } = {}) {
  /** @type {Receipt[]} */
  const receipts = [];
  /** @type {Map<string, number>} */
  const counts = new Map();
  /** @type {Error[]} */
  const errors = [];
  /** @type {Array<(r: Receipt) => void>} */
  const listeners = [];

  const server = http.createServer((req, res) => {
    // Stamped when the request head is parsed: the moment the delivery reached us.
    const t = now();
    const path = req.url ?? "/";
    const id = req.headers["x-rubric-event-id"];
    const receipt = { t, path, eventId: typeof id === "string" ? id : null };
    receipts.push(receipt);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    for (const fn of listeners) fn(receipt);
    // Answer once the body is drained, so the connection is clean for keep-alive reuse.
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
    });
  });
  // workerd reuses connections; Node's 5 s default would close idle ones between phases.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("clientError", (err, socket) => {
    // A peer resetting a kept-alive socket at shutdown is normal; anything else is worth reporting.
    if (/** @type {any} */ (err).code !== "ECONNRESET") errors.push(err);
    socket.destroy();
  });
  server.on("error", (err) => errors.push(err));

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(undefined));
  });
  const actual = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    receipts,
    counts,
    errors,
    onReceipt: (fn) => {
      listeners.push(fn);
      return () => listeners.splice(listeners.indexOf(fn) >>> 0, 1);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
