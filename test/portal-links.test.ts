// Portal links and dashboard sessions, enforced on the server: one-time links, expiry, revocation,
// webhook limits, read-only, CSRF, and one account never seeing another's data.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DashboardClient } from "./dashboard-client";
import { call, newAccount, newWebhook, receiverEndpoint, sendEvent, waitFor } from "./support/helpers";

const Browser = DashboardClient;

async function link(key: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/portal_links", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

/** Opens a portal link in a fresh browser; returns it signed in. */
async function openPortal(url: string) {
  const b = new Browser();
  const opened = await b.get(new URL(url).pathname);
  expect(opened.status).toBe(200);
  return { b, opened };
}

describe("POST /v1/portal_links", () => {
  it("returns a one-time URL; the list never shows it; input and scope are checked", async () => {
    const a = await newAccount("pl-a");
    const other = await newAccount("pl-other");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    const theirs = await newWebhook(other.key, { url: receiverEndpoint().url });
    const created = await link(a.key, { expires_in: 600, webhook_ids: [hook.id], read_only: true });
    expect(created).toEqual({
      id: expect.stringMatching(/^pl_[0-9A-Z]{26}$/),
      url: expect.stringMatching(/^http:\/\/rubric\.test\/dashboard\/portal\/rpl_[A-Za-z0-9_-]{43}$/),
      webhook_ids: [hook.id],
      read_only: true,
      status: "unused",
      created_at: expect.any(String),
      expires_at: expect.any(String),
      opened_at: null,
      revoked_at: null,
    });
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(600_000);
    const list = await call("GET", "/v1/portal_links", { key: a.key });
    expect(list.json.data.map((l: any) => l.id)).toEqual([created.id]);
    expect(list.text).not.toContain(created.url.split("/").pop());
    expect((await call("GET", "/v1/portal_links", { key: other.key })).json.data).toEqual([]);

    for (const [body, field] of [
      [{ expires_in: 0 }, "expires_in"],
      [{ expires_in: 604_801 }, "expires_in"],
      [{ webhook_ids: [theirs.id] }, "webhook_ids.0"],
      [{ webhook_ids: [] }, "webhook_ids"],
      [{ read_only: "yes" }, "read_only"],
      [{ extra: 1 }, "(body)"],
    ] as const) {
      const res = await call("POST", "/v1/portal_links", { key: a.key, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 422]);
      expect(res.json.error.details.map((d: any) => d.field)).toContain(field);
    }
    const reader = (await call("POST", "/v1/api_keys", { key: a.key, body: { name: "r", scopes: ["webhooks:read"] } })).json.key;
    expect((await call("POST", "/v1/portal_links", { key: reader, body: {} })).status).toBe(403);
    expect((await call("GET", "/v1/portal_links", { key: reader })).status).toBe(200);
  });
});

describe("opening a portal link", () => {
  it("works once, sets a strict HttpOnly session cookie, and the link's key is scoped down", async () => {
    const a = await newAccount("pl-once");
    await newWebhook(a.key, { name: "visible-hook", url: receiverEndpoint().url });
    const l = await link(a.key, { expires_in: 600, read_only: true });
    const { b, opened } = await openPortal(l.url);
    expect(opened.text).toContain('http-equiv="refresh" content="0;url=/dashboard"');
    const cookie = opened.setCookies.find((c) => c.startsWith("rubric_session="))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/dashboard/);
    expect(cookie).not.toMatch(/Secure/); // plain http here; https gets Secure
    expect(cookie).not.toContain("rk_");
    const home = await b.get("/dashboard");
    expect(home.status).toBe(200);
    expect(home.text).toContain("visible-hook");
    expect(home.text).toContain("Portal · read-only");

    const again = await new Browser().get(new URL(l.url).pathname);
    expect(again.status).toBe(410);
    expect(again.setCookies.some((c) => c.startsWith("rubric_session="))).toBe(false);
    expect((await call("GET", "/v1/portal_links", { key: a.key })).json.data[0]).toMatchObject({ id: l.id, status: "opened", opened_at: expect.any(String) });
    const keys = (await call("GET", "/v1/api_keys", { key: a.key })).json.data;
    expect(keys.find((k: any) => k.name === `portal link ${l.id}`)).toMatchObject({ scopes: ["webhooks:read"], revoked_at: null });
    expect((await new Browser().get("/dashboard/portal/rpl_nonsense")).status).toBe(410);
    // Over https the cookie is Secure too.
    const secure = await link(a.key, { expires_in: 600 });
    const res = await exports.default.fetch(new Request(secure.url.replace(/^http:/, "https:")));
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().find((c) => c.startsWith("rubric_session="))).toMatch(/; Secure/);
  });

  it("is refused after it expires, and a session it opened ends at the same time", async () => {
    const a = await newAccount("pl-exp");
    const unopened = await link(a.key, { expires_in: 1 });
    const opened = await link(a.key, { expires_in: 2 });
    const { b } = await openPortal(opened.url);
    expect((await b.get("/dashboard")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await new Browser().get(new URL(unopened.url).pathname)).status).toBe(410);
    const after = await b.get("/dashboard");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toBe("/dashboard/sign-in?ended=portal");
    expect((await call("GET", "/v1/portal_links", { key: a.key })).json.data.map((l: any) => l.status)).toEqual(["expired", "expired"]);
  });

  it("ends its session when revoked (and another account cannot revoke it)", async () => {
    const a = await newAccount("pl-rev");
    const other = await newAccount("pl-rev-other");
    const l = await link(a.key, { expires_in: 600 });
    const { b } = await openPortal(l.url);
    expect((await b.get("/dashboard")).status).toBe(200);
    expect((await call("DELETE", `/v1/portal_links/${l.id}`, { key: other.key })).status).toBe(404);
    expect((await b.get("/dashboard")).status).toBe(200);
    const revoked = await call("DELETE", `/v1/portal_links/${l.id}`, { key: a.key });
    expect(revoked.json).toMatchObject({ id: l.id, status: "revoked", revoked_at: expect.any(String) });
    const after = await b.get("/dashboard/activity");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toBe("/dashboard/sign-in?ended=portal");
    const keys = (await call("GET", "/v1/api_keys", { key: a.key })).json.data;
    expect(keys.find((k: any) => k.name === `portal link ${l.id}`).revoked_at).not.toBeNull();
  });
});

describe("portal limits on the server", () => {
  it("a portal limited to one webhook sees nothing else, whatever URL or form it sends", async () => {
    const a = await newAccount("pl-limit");
    const mine = await newWebhook(a.key, { name: "shown-hook", url: receiverEndpoint().url });
    const hidden = await newWebhook(a.key, { name: "hidden-hook", url: receiverEndpoint().url });
    await sendEvent(a.key, { type: "sample.scored", data: {} });
    const hiddenDelivery = await waitFor(async () => (await call("GET", `/v1/webhooks/${hidden.id}/deliveries`, { key: a.key })).json.data[0]);
    const { b } = await openPortal((await link(a.key, { expires_in: 600, webhook_ids: [mine.id] })).url);
    const home = await b.get("/dashboard");
    expect(home.text).toContain("shown-hook");
    expect(home.text).not.toContain("hidden-hook");
    expect(home.text).not.toContain('href="/dashboard/events"');
    expect((await b.get(`/dashboard/webhooks/${mine.id}`)).status).toBe(200);
    for (const path of [`/dashboard/webhooks/${hidden.id}`, `/dashboard/webhooks/${hidden.id}/deliveries`, `/dashboard/deliveries/${hiddenDelivery.id}`]) {
      const res = await b.get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.text).not.toContain("hidden-hook");
    }
    expect((await b.get("/dashboard/events")).status).toBe(403);
    expect((await b.get(`/dashboard/events/${hiddenDelivery.event_id}`)).status).toBe(403);
    expect((await b.get("/dashboard/webhooks/new")).status).toBe(403);
    for (const path of [`/dashboard/webhooks/${hidden.id}/disable`, `/dashboard/webhooks/${hidden.id}/delete`, `/dashboard/deliveries/${hiddenDelivery.id}/retry`]) {
      expect([path, (await b.post(path, home.text)).status]).toEqual([path, 404]);
    }
    expect((await b.post(`/dashboard/events/${hiddenDelivery.event_id}/replay`, home.text)).status).toBe(403);
    expect((await b.post("/dashboard/webhooks", home.text, { name: "x", url: receiverEndpoint().url, events: "*" })).status).toBe(403);
    expect((await call("GET", `/v1/webhooks/${hidden.id}`, { key: a.key })).json.status).toBe("active");
    expect((await call("GET", "/v1/webhooks", { key: a.key })).json.data).toHaveLength(2);
  });

  it("a read-only portal changes nothing, even with a valid CSRF token", async () => {
    const a = await newAccount("pl-ro");
    const hook = await newWebhook(a.key, { name: "ro-hook", url: receiverEndpoint().url });
    await sendEvent(a.key, { type: "sample.scored", data: {} });
    const delivery = await waitFor(async () => (await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: a.key })).json.data[0]);
    const { b } = await openPortal((await link(a.key, { expires_in: 600, read_only: true })).url);
    const detail = await b.get(`/dashboard/webhooks/${hook.id}`);
    expect(detail.status).toBe(200);
    expect(detail.text).not.toContain("Rotate secret");
    expect(detail.text).not.toContain("Send test event");
    const before = (await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).json;
    const attempts = [
      [`/dashboard/webhooks/${hook.id}`, { name: "changed", url: hook.url, events: "*", format: "json" }],
      [`/dashboard/webhooks/${hook.id}/disable`, {}],
      [`/dashboard/webhooks/${hook.id}/rotate_secret`, {}],
      [`/dashboard/webhooks/${hook.id}/secret`, {}],
      [`/dashboard/webhooks/${hook.id}/test`, { event_type: "sample.scored", payload: "{}" }],
      [`/dashboard/webhooks/${hook.id}/retry_failed`, { since: "2024-01-01T00:00" }],
      [`/dashboard/webhooks/${hook.id}/delete`, {}],
      [`/dashboard/deliveries/${delivery.id}/retry`, {}],
      [`/dashboard/events/${delivery.event_id}/replay`, {}],
      ["/dashboard/webhooks", { name: "new", url: hook.url, events: "*" }],
    ] as const;
    for (const [path, form] of attempts) {
      const res = await b.post(path, detail.text, form);
      expect([path, res.status]).toEqual([path, 403]);
      expect(res.text).toContain("This portal is read-only");
    }
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).json).toEqual(before);
    expect((await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: a.key })).json.data[0].attempts).toBe(delivery.attempts);
    // Previews change nothing, so they stay available.
    const preview = await b.post(`/dashboard/webhooks/${hook.id}/preview`, detail.text, { event_type: "sample.scored", payload: '{"a":1}' });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain("Body preview");
  });
});

describe("key sessions", () => {
  it("sign in with a key, refuse forms without the session's CSRF token, and never show another account's data", async () => {
    const a = await newAccount("ks-a");
    const b = await newAccount("ks-b");
    const theirs = await newWebhook(b.key, { name: "b-secret-hook", url: receiverEndpoint().url });
    const mine = await newWebhook(a.key, { name: "a-hook", url: receiverEndpoint().url });
    const br = new Browser();
    expect((await br.get("/dashboard")).headers.get("Location")).toBe("/dashboard/sign-in");
    const form = await br.get("/dashboard/sign-in");
    expect((await br.fetch("POST", "/dashboard/sign-in", { _csrf: "0".repeat(32), api_key: a.key })).status).toBe(403);
    // A mistyped key (the last character changed; it must differ from the real one, or this flakes 1 run in 60).
    const mistyped = `${a.key.slice(0, -1)}${a.key.endsWith("x") ? "y" : "x"}`;
    expect((await br.post("/dashboard/sign-in", form.text, { api_key: mistyped })).status).toBe(401);
    const signed = await br.post("/dashboard/sign-in", form.text, { api_key: a.key });
    expect(signed.status).toBe(303);
    const session = signed.setCookies.find((c) => c.startsWith("rubric_session="))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).not.toContain(a.key);
    const home = await br.get("/dashboard");
    expect(home.text).toContain("a-hook");
    expect(home.text).not.toContain("b-secret-hook");
    expect((await br.get(`/dashboard/webhooks/${theirs.id}`)).status).toBe(404);
    expect((await br.post(`/dashboard/webhooks/${theirs.id}/disable`, home.text)).status).toBe(404);
    expect((await call("GET", `/v1/webhooks/${theirs.id}`, { key: b.key })).json.status).toBe("active");
    // CSRF: no token, a wrong token, another session's token.
    expect((await br.fetch("POST", `/dashboard/webhooks/${mine.id}/disable`, {})).status).toBe(403);
    expect((await br.fetch("POST", `/dashboard/webhooks/${mine.id}/disable`, { _csrf: "f".repeat(32) })).status).toBe(403);
    expect((await call("GET", `/v1/webhooks/${mine.id}`, { key: a.key })).json.status).toBe("active");
    const disabled = await br.post(`/dashboard/webhooks/${mine.id}/disable`, home.text);
    expect(disabled.status).toBe(303);
    expect((await call("GET", `/v1/webhooks/${mine.id}`, { key: a.key })).json.status).toBe("disabled");
    const out = await br.post("/dashboard/sign-out", home.text);
    expect(out.headers.get("Location")).toBe("/dashboard/sign-in?ended=out");
    expect((await br.get("/dashboard")).status).toBe(303);
  });

  it("keeps every page and its assets under 100 KB, with cacheable assets and a strict CSP", async () => {
    const a = await newAccount("ks-size");
    const hook = await newWebhook(a.key, { url: receiverEndpoint().url });
    const br = new Browser();
    const form = await br.get("/dashboard/sign-in");
    await br.post("/dashboard/sign-in", form.text, { api_key: a.key });
    const home = await br.get("/dashboard");
    const assets = [...home.text.matchAll(/(?:href|src)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    let assetBytes = 0;
    for (const path of assets) {
      const res = await br.get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      assetBytes += res.text.length;
    }
    for (const path of ["/dashboard", `/dashboard/webhooks/${hook.id}`, `/dashboard/webhooks/${hook.id}/deliveries`, "/dashboard/events", "/dashboard/activity", "/dashboard/webhooks/new"]) {
      const res = await br.get(path);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get("Content-Security-Policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(res.text).not.toMatch(/(?:src|href|action)="(?:[a-z]+:|\/\/)|style="/i);
      expect(res.text.length + assetBytes, path).toBeLessThan(100 * 1024);
    }
  });
});
