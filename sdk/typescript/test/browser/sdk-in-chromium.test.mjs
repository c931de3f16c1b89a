// The SDK's built ESM in a real browser (Debian's Chromium via playwright-core): the client pages
// through a list and maps an error over fetch, and verifyWebhook checks signatures with WebCrypto,
// all inside the page. A node:http server serves the page, the SDK's files and a small API on
// one origin (the browser's own rules, no CORS shortcut).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { launch, CHROMIUM } from "../../../../test/browser/support/chromium.mjs";

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist");
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const HOOKS = Array.from({ length: 5 }, (_, i) => ({ id: `wh_${i + 1}`, name: `hook ${i + 1}` }));

let server;
let base;
let browser;
const seen = [];

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    seen.push({ path: url.pathname, auth: req.headers.authorization ?? null, cursor: url.searchParams.get("cursor") });
    if (url.pathname === "/") return res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>sdk</title>");
    if (url.pathname.startsWith("/sdk/")) {
      const file = path.join(DIST, path.normalize(url.pathname.slice(5)));
      if (!file.startsWith(DIST) || !existsSync(file)) return res.writeHead(404).end();
      return res.writeHead(200, { "Content-Type": "text/javascript" }).end(readFileSync(file));
    }
    if (url.pathname === "/v1/webhooks") {
      const start = url.searchParams.get("cursor") ? HOOKS.findIndex((h) => h.id === url.searchParams.get("cursor")) + 1 : 0;
      const data = HOOKS.slice(start, start + 2);
      const next = start + 2 < HOOKS.length ? data.at(-1).id : null;
      return res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ data, has_more: next !== null, next_cursor: next }));
    }
    res.writeHead(404, { "Content-Type": "application/json", "X-Request-Id": "req_browser" });
    res.end(JSON.stringify({ error: { code: "not_found", message: "No such webhook", request_id: "req_browser" } }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launch();
  await browser.page.goto(`${base}/`);
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

test("pages through a list and maps a 404 to NotFoundError, over the browser's fetch", { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async () => {
  const result = await browser.page.evaluate(async (baseUrl) => {
    const { Rubric, NotFoundError } = await import("/sdk/index.js");
    const client = new Rubric({ apiKey: "rk_test_browser", baseUrl, maxRetries: 0 });
    const names = [];
    for await (const wh of client.webhooks.list()) names.push(wh.name);
    let error = null;
    try {
      await client.webhooks.get("wh_missing");
    } catch (err) {
      error = { notFound: err instanceof NotFoundError, status: err.status, code: err.code, requestId: err.requestId };
    }
    return { names, error };
  }, base);
  assert.deepEqual(result.names, HOOKS.map((h) => h.name));
  assert.deepEqual(result.error, { notFound: true, status: 404, code: "not_found", requestId: "req_browser" });
  const api = seen.filter((s) => s.path.startsWith("/v1/"));
  assert.deepEqual(api.map((s) => s.cursor), [null, "wh_2", "wh_4", null]);
  assert.ok(api.every((s) => s.auth === "Bearer rk_test_browser"));
});

test("verifyWebhook accepts a signed delivery and names what is wrong with a tampered one, with WebCrypto", { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async () => {
  const body = JSON.stringify({ id: "evt_01", type: "evaluation.completed", data: { score: 0.9 } });
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    "X-Rubric-Timestamp": String(ts),
    "X-Rubric-Signature": `sha256=${createHmac("sha256", Buffer.from(SECRET)).update(`${ts}.${body}`).digest("hex")}`,
    "webhook-id": "evt_01",
    "webhook-timestamp": String(ts),
    "webhook-signature": `v1,${createHmac("sha256", Buffer.from(SECRET.slice(6), "base64")).update(`evt_01.${ts}.${body}`).digest("base64")}`,
  };
  const result = await browser.page.evaluate(
    async ({ body, headers, secret }) => {
      const { verifyWebhook } = await import("/sdk/index.js");
      const event = await verifyWebhook(body, headers, secret);
      const reason = await verifyWebhook(body.replace("0.9", "0.1"), headers, secret).then(
        () => "accepted",
        (err) => err.reason,
      );
      return { id: event.id, hasSubtle: !!globalThis.crypto?.subtle, reason };
    },
    { body, headers, secret: SECRET },
  );
  assert.deepEqual(result, { id: "evt_01", hasSubtle: true, reason: "signature_mismatch" });
});
