// A real HTTP server on 127.0.0.1 standing in for the API in unit tests: it
// records every request as received on the wire and answers as the test's
// handler says (status, headers, JSON or text body, a delay, or a dropped
// connection). No fetch mocking: the SDK's requests really go over a socket.
import http from "node:http";

/**
 * @typedef {{method: string, path: string, query: Record<string, string>, headers: http.IncomingHttpHeaders, text: string, json: any}} Recorded
 * @typedef {{status?: number, headers?: Record<string, string>, json?: unknown, text?: string, delayMs?: number, destroy?: boolean}} Answer
 */

/**
 * Starts the server. `handler(request, index)` returns an {@link Answer}
 * (default: 200 `{}`); `index` counts requests from 0.
 * @param {(req: Recorded, index: number) => Answer | Promise<Answer>} [handler]
 */
export async function startFakeApi(handler = () => ({ json: {} })) {
  /** @type {Recorded[]} */
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (text += c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://x");
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {}
      const recorded = { method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, text, json };
      requests.push(recorded);
      const answer = (await api.handler(recorded, requests.length - 1)) ?? {};
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (answer.destroy) return req.socket.destroy();
      const body = answer.text ?? JSON.stringify(answer.json ?? {});
      res.writeHead(answer.status ?? 200, {
        "Content-Type": answer.text !== undefined ? "text/plain" : "application/json",
        "X-Request-Id": "req_fake",
        ...answer.headers,
      });
      res.end(body);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  const api = {
    url: `http://127.0.0.1:${port}`,
    requests,
    handler,
    /** Stops the server and drops any connection still open. */
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve(undefined));
      }),
  };
  return api;
}

/** A sleep that returns at once and records what it was asked to wait. */
export function recordingSleep() {
  const waits = [];
  const sleep = async (ms) => {
    waits.push(ms);
  };
  return { sleep, waits };
}

/** The wire error body the API sends. */
export const wireError = (code, message, extra = {}) => ({ error: { code, message, request_id: "req_body", ...extra } });
