// /docs in a real browser (Debian's Chromium through playwright-core) against `npm start`'s service:
// Scalar's reference, loaded from the service alone (every other origin is blocked and recorded),
// renders every operation of /openapi.json, and its "Test Request" → "Send" reaches the running
// service with the API key pasted into the page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { removeDir, startService } from "../e2e/support/service.mjs";
import { launch } from "./support/chromium.mjs";

const METHODS = ["get", "put", "post", "delete", "patch"];
/** Scalar renders a document, with 40-odd operations, on a busy 2-core machine: be patient. */
const RENDER_TIMEOUT = 60_000;

let service;
let chrome;
let page;
let doc;
/** Requests the page tried to make to any other origin (all blocked). */
const elsewhere = [];

before(async () => {
  service = await startService();
  chrome = await launch();
  page = chrome.page;
  const origin = new URL(service.baseUrl).origin;
  await chrome.context.route("**/*", (route) => {
    if (new URL(route.request().url()).origin === origin) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  // Every Content-Security-Policy violation, as the page sees it.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  });
  doc = (await service.api("GET", "/openapi.json")).json;
});

after(async () => {
  await chrome?.close();
  await service?.stop();
  removeDir(service?.stateDir);
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })));

/** CSP violations so far, but for the one allowed: Scalar's zod probing whether `new Function` works (it catches the refusal). */
const cspViolations = async () => (await page.evaluate(() => window.__csp)).filter((v) => !(v.directive === "script-src" && v.blocked === "eval"));

/** Scalar's element for one operation (its deep-link id: document slug, tag, METHOD and path). */
const section = (tag, method, path) => page.locator(`[id="api-1/tag/${tag}/${method.toUpperCase()}${path}"]`);

test("the page loads Scalar from the service alone and renders every operation of /openapi.json", async () => {
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  const bundle = page.waitForResponse((r) => new URL(r.url()).pathname === "/docs/scalar.js");
  const res = await page.goto(`${service.baseUrl}/docs`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"], /script-src 'self';/);
  const js = await bundle;
  assert.equal(js.status(), 200);
  assert.match(js.headers()["content-type"], /^text\/javascript/);
  assert.ok((await js.body()).byteLength > 1024 * 1024, "the whole standalone bundle");

  await page.locator("h1", { hasText: doc.info.title }).waitFor({ timeout: RENDER_TIMEOUT });
  const ops = operations();
  assert.ok(ops.length > 20, `${ops.length} operations`);
  const last = ops.at(-1);
  await section(last.op.tags[0], last.method, last.path).waitFor({ state: "attached", timeout: RENDER_TIMEOUT });

  // Each operation: a section with its summary and its path, and an entry in the sidebar.
  const report = await page.evaluate((ops) => {
    const sidebar = document.querySelector("aside")?.innerText ?? "";
    return ops.map(({ id, summary, path }) => {
      const el = document.getElementById(id);
      return { id, section: !!el, summary: !!el?.innerText.includes(summary), path: !!el?.innerText.includes(path), sidebar: sidebar.includes(summary) };
    });
  }, ops.map(({ path, method, op }) => ({ id: `api-1/tag/${op.tags[0]}/${method.toUpperCase()}${path}`, summary: op.summary, path })));
  const missing = report.filter((r) => !(r.section && r.summary && r.path && r.sidebar));
  assert.deepEqual(missing, [], "operations not rendered with their summary and path, or not in the sidebar");

  assert.deepEqual(elsewhere, [], "requests to other origins");
  assert.deepEqual(await cspViolations(), [], "Content-Security-Policy violations");
  assert.deepEqual(errors, [], "uncaught errors");
});

test("Test Request sends to the running service, with the API key pasted into the page", async () => {
  const origin = new URL(service.baseUrl).origin;
  /** Opens the operation's client, clicks Send; returns the request the service got and its answer. */
  async function send(tag, method, path) {
    await section(tag, method, path).getByRole("button", { name: /Test Request/ }).click();
    // The configured server is this service: the button says where the request goes.
    const sendButton = page.getByRole("button", { name: `Send ${method} request to ${origin}${path}` });
    await sendButton.waitFor();
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(`${origin}${path}`) && r.request().method() === method.toUpperCase()), sendButton.click()]);
    const request = response.request();
    const answer = { status: response.status(), authorization: (await request.allHeaders()).authorization, requestId: response.headers()["x-request-id"], json: await response.json() };
    await page.keyboard.press("Escape");
    await sendButton.waitFor({ state: "detached" });
    return answer;
  }

  // No key yet: the service itself answers 401 (its error shape, its request id).
  const refused = await send("webhooks", "get", "/v1/webhooks");
  assert.equal(refused.status, 401);
  assert.equal(refused.json.error.code, "unauthorized");
  assert.match(refused.requestId, /^req_/);

  // Paste the key into the page's Authentication section; the example body creates an event type.
  await page.getByLabel("Bearer Token").first().fill(service.apiKey);
  const example = doc.paths["/v1/event_types"].post.requestBody.content["application/json"].example;
  const created = await send("event_types", "post", "/v1/event_types");
  assert.equal(created.authorization, `Bearer ${service.apiKey}`);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.equal(created.json.name, example.name);
  // ...and it really is in the service, for this key's account.
  const listed = await service.api("GET", "/v1/event_types");
  assert.ok(
    listed.json.data.some((t) => t.name === example.name && !t.builtin),
    "the event type sent from the page is stored",
  );
  assert.deepEqual(elsewhere, [], "requests to other origins");
  assert.deepEqual(await cspViolations(), [], "Content-Security-Policy violations");
});
