// The dashboard in a real browser (Debian's Chromium through playwright-core) against `npm start`'s
// service and a real receiver: sign in, create a webhook (a validation error first), send a test
// event, watch a failed delivery and retry it, rotate the secret, portal links that expire, a
// read-only portal that cannot change anything, and one account never seeing another's data.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startReceiver } from "../support/receiver.mjs";
import { apiClient, devVar, plan, removeDir, seedVerify, sleep, startService, waitFor } from "../e2e/support/service.mjs";
import { checkPage, DESKTOP, launch, screenshots } from "./support/chromium.mjs";

let receiver;
let service;
let chrome;
let page;
/** The webhook made through the form, its secret, and a failing one made through the API. */
const state = {};

before(async () => {
  receiver = await startReceiver();
  service = await startService();
  chrome = await launch();
  page = chrome.page;
});

after(async () => {
  await chrome?.close();
  await service?.stop();
  await receiver?.close();
  removeDir(service?.stateDir);
});

const url = (p) => `${service.baseUrl}${p}`;
const text = (selector) => page.locator(selector).first().innerText();

async function signIn(key) {
  await page.context().clearCookies();
  await page.goto(url("/dashboard"));
  assert.match(page.url(), /\/dashboard\/sign-in$/);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/dashboard$/);
}

test("sign in with an API key", async () => {
  await page.goto(url("/dashboard/sign-in"));
  await checkPage(page);
  await screenshots(page, "sign-in");
  // The last character changed (to one it is not), so the key fails its checksum.
  await page.getByLabel("API key").fill(`${service.apiKey.slice(0, -1)}${service.apiKey.endsWith("x") ? "y" : "x"}`);
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal(await text("[role=alert]"), "That is not a valid API key.");
  await signIn(service.apiKey);
  assert.equal(await text("h1"), "Webhooks");
  const cookie = (await page.context().cookies()).find((c) => c.name === "rubric_session");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.ok(!cookie.value.includes("rk_"), "the key is sealed, not stored readable");
});

test("create a webhook through the form, seeing the API's validation message first", async () => {
  await page.getByRole("link", { name: "New webhook" }).click();
  await checkPage(page);
  await page.getByLabel("Name").fill("orders");
  await page.getByLabel("Endpoint URL").fill("ftp://example.invalid/hook");
  await page.getByLabel("Events").fill("evaluation.completed, alert.*");
  await page.getByRole("button", { name: "Create webhook" }).click();
  // The same message the API gives a client for the same body.
  const api = await service.api("POST", "/v1/webhooks", { name: "orders", url: "ftp://example.invalid/hook", events: ["evaluation.completed", "alert.*"], format: "json" });
  assert.equal(api.status, 422);
  const urlIssue = api.json.error.details.find((d) => d.field === "url").message;
  assert.equal(await text("#f-url-err"), urlIssue);
  assert.equal(await page.getByLabel("Endpoint URL").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Name").inputValue(), "orders", "what was typed is kept");
  await screenshots(page, "webhook-form-error");

  await page.getByLabel("Endpoint URL").fill(`${receiver.url}/hooks/orders`);
  await page.getByRole("button", { name: "Create webhook" }).click();
  assert.equal(await text("h1"), "Webhook created");
  state.secret = await text("#secret-value");
  assert.match(state.secret, /^whsec_/);
  await page.getByRole("link", { name: "Open the webhook" }).click();
  state.hookId = page.url().split("/").pop();
  assert.match(state.hookId, /^wh_/);
  const listed = (await service.api("GET", `/v1/webhooks/${state.hookId}`)).json;
  assert.deepEqual([listed.name, listed.url, listed.events], ["orders", `${receiver.url}/hooks/orders`, ["evaluation.completed", "alert.*"]]);
});

test("send a test event to a real receiver and see its answer", async () => {
  await plan(receiver, "orders", { status: 202, body: "accepted by orders" });
  await page.getByLabel("Event type").first().selectOption("evaluation.completed");
  await page.getByRole("button", { name: "Send test event" }).click();
  assert.equal(await text("#test-response-code"), "202");
  assert.equal(await text("#test-response-body"), "accepted by orders");
  const got = receiver.received("orders");
  assert.equal(got.length, 1);
  assert.ok(seedVerify(state.secret, got[0].headers, got[0].body), "signed with the secret the form showed");
  assert.equal(JSON.parse(got[0].body).type, "evaluation.completed");
  await checkPage(page);
  await screenshots(page, "webhook-detail");
});

test("watch a failed delivery appear, then retry it", async () => {
  await plan(receiver, "failing", { status: 500, body: "database down" });
  const hook = await service.api("POST", "/v1/webhooks", { name: "failing", url: `${receiver.url}/hooks/failing`, events: ["alert.triggered"], retry_config: { max_retries: 0 } });
  assert.equal(hook.status, 201, hook.text);
  state.failing = hook.json;
  await page.goto(url(`/dashboard/webhooks/${hook.json.id}/deliveries?status=failed`));
  assert.equal(await page.locator("tbody tr").count(), 0);
  const event = await service.api("POST", "/v1/events", { type: "alert.triggered", data: { project_id: "p", alert_id: "a1" } });
  assert.equal(event.status, 202);
  await waitFor(
    async () => {
      await page.reload();
      return (await page.locator("tbody tr").count()) === 1;
    },
    { timeout: 20_000, interval: 500, what: "the failed delivery to show up" },
  );
  assert.equal(await text("tbody tr td:nth-child(3)"), "failed");
  await checkPage(page);
  await screenshots(page, "deliveries");
  await page.locator("tbody tr a").first().click();
  assert.match(await text("h2[id^=att-]"), /^Attempt 1 \(scheduled\) · 500 · \d+ ms$/);
  assert.match(await page.locator("pre").nth(0).innerText(), /x-rubric-signature: sha256=/i);
  assert.equal(await page.locator("pre").nth(2).innerText(), "database down");

  await plan(receiver, "failing", {});
  await page.getByRole("button", { name: "Retry now" }).click();
  assert.equal(await text("[role=status]"), "Queued for another attempt.");
  await waitFor(
    async () => {
      await page.reload();
      return (await text("h1")).includes("succeeded");
    },
    { timeout: 20_000, interval: 500, what: "the retried delivery to succeed" },
  );
  assert.match(await page.locator("h2[id^=att-]").nth(1).innerText(), /^Attempt 2 \(manual\) · 200 · /);
  assert.deepEqual(
    receiver.received("failing").map((r) => r.answered),
    [500, 200],
  );
  await checkPage(page);
  await screenshots(page, "delivery");
});

test("rotate a secret: the receiver's deliveries verify with the new one", async () => {
  await page.goto(url(`/dashboard/webhooks/${state.hookId}`));
  await page.getByRole("button", { name: "Rotate secret" }).click();
  const rotated = await text("#secret-value");
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, state.secret);
  await page.getByRole("button", { name: "Reveal secret" }).click();
  assert.equal(await text("#secret-value"), rotated, "reveal shows the current secret");
  await page.getByRole("button", { name: "Send test event" }).click();
  await page.locator("#test-response-code").waitFor();
  const last = receiver.received("orders").at(-1);
  assert.ok(seedVerify(rotated, last.headers, last.body), "signed with the new secret");
  assert.ok(!seedVerify(state.secret, last.headers, last.body), "not with the old one");
  state.secret = rotated;
});

test("the activity page charts the day's attempts", async () => {
  await page.goto(url("/dashboard/activity"));
  const label = await page.locator("svg[role=img]").first().getAttribute("aria-label");
  const m = /: (\d+) succeeded, (\d+) failed and retried, (\d+) failed for good/.exec(label);
  assert.ok(m, label);
  // Succeeded: two test sends, the alert to "orders" (it takes alert.*) and the retry; failed: the first attempt to "failing".
  assert.deepEqual(m.slice(1).map(Number), [4, 0, 1]);
  await checkPage(page);
  await screenshots(page, "activity");
  await page.goto(url("/dashboard"));
  assert.equal(await text(`[data-success-rate="${state.failing.id}"]`), "50%");
  await screenshots(page, "webhooks");
});

test("a portal link opens once, and its session ends when the link expires", async () => {
  const link = await service.api("POST", "/v1/portal_links", { expires_in: 8, webhook_ids: [state.hookId] });
  assert.equal(link.status, 201, link.text);
  await page.context().clearCookies();
  const opened = Date.now();
  await page.goto(link.json.url);
  await page.waitForURL(/\/dashboard$/);
  assert.equal(await text("header .badge"), "Portal");
  assert.deepEqual(await page.locator("tbody tr td:first-child").allInnerTexts(), ["orders"], "only the link's webhook");
  assert.equal(await page.getByRole("link", { name: "Events" }).count(), 0);
  await page.goto(url(`/dashboard/webhooks/${state.failing.id}`));
  assert.equal(await text("h1"), "Not found");
  // Used once: a second open fails.
  await page.goto(link.json.url);
  assert.equal(await text("h1"), "This link cannot be opened");
  await sleep(Math.max(0, opened + 8_500 - Date.now()));
  await page.goto(url("/dashboard"));
  assert.match(page.url(), /\/dashboard\/sign-in\?ended=portal$/);
  assert.match(await text("[role=status]"), /portal session has ended/);
});

test("a read-only portal shows everything it may and cannot change anything", async () => {
  const link = await service.api("POST", "/v1/portal_links", { expires_in: 600, read_only: true });
  await page.context().clearCookies();
  await page.goto(link.json.url);
  await page.waitForURL(/\/dashboard$/);
  assert.equal(await text("header .badge"), "Portal · read-only");
  await page.goto(url(`/dashboard/webhooks/${state.hookId}`));
  for (const name of ["Save changes", "Rotate secret", "Reveal secret", "Send test event", "Disable"]) {
    assert.equal(await page.getByRole("button", { name }).count(), 0, `no ${name} button`);
  }
  assert.equal(await page.getByLabel("Name").isDisabled(), true);
  await checkPage(page);
  await screenshots(page, "portal-read-only");
  const before = (await service.api("GET", `/v1/webhooks/${state.hookId}`)).json;
  // Forms forged with the page's valid CSRF token and the browser's cookies: the server refuses each one.
  const csrf = await page.locator("input[name=_csrf]").first().inputValue();
  const id = state.hookId;
  const forged = [
    [`/dashboard/webhooks/${id}`, { name: "hijacked", url: "http://127.0.0.1:1/x", events: "*", format: "json" }],
    [`/dashboard/webhooks/${id}/disable`, {}],
    [`/dashboard/webhooks/${id}/rotate_secret`, {}],
    [`/dashboard/webhooks/${id}/secret`, {}],
    [`/dashboard/webhooks/${id}/delete`, {}],
    [`/dashboard/webhooks/${id}/test`, { event_type: "evaluation.completed", payload: "{}" }],
  ];
  const statuses = [];
  for (const [path, fields] of forged) {
    const res = await page.context().request.post(url(path), { form: { _csrf: csrf, ...fields }, maxRedirects: 0 });
    statuses.push(res.status());
  }
  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
  assert.deepEqual((await service.api("GET", `/v1/webhooks/${state.hookId}`)).json, before);
});

test("one account never sees another's data", async () => {
  const admin = apiClient(service.baseUrl, devVar("ADMIN_TOKEN"));
  const other = await admin("POST", "/v1/accounts", { name: "someone-else", mode: "test" });
  assert.equal(other.status, 201, other.text);
  await signIn(other.json.api_key);
  assert.equal(await page.getByText("No webhooks yet.").count(), 1);
  await page.goto(url(`/dashboard/webhooks/${state.hookId}`));
  assert.equal(await text("h1"), "Not found");
  await page.goto(url(`/dashboard/webhooks/${state.hookId}/deliveries`));
  assert.equal(await text("h1"), "Not found");
  await page.goto(url("/dashboard/events"));
  assert.equal(await page.locator("tbody tr").count(), 0);
  await page.goto(url("/dashboard/activity"));
  assert.match(await page.locator("svg[role=img]").first().getAttribute("aria-label"), /: 0 succeeded, 0 failed and retried, 0 failed for good/);
  await page.setViewportSize(DESKTOP);
});
