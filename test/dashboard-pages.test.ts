// Dashboard pages over the real API: delivery filters, cursor paging and "retry all failed since",
// the edit form's inline API messages, the chat-format preview, event replay and deletion.
import { recordsDbOf } from "./support/records";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { deliveryAttempts } from "../src/db/schema";
import { deliveryId, idGenerator } from "../src/lib/ids";
import { DashboardClient } from "./dashboard-client";
import { call, insertEvent, newAccount, newWebhook, plan, receiverEndpoint, sendEvent, waitFor, waitForReceived } from "./support/helpers";

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** How many deliveries a page lists. */
const rowsOf = (html: string) => (html.match(/aria-label="Delivery dlv_/g) ?? []).length;
const nextLink = (html: string) => /<a href="([^"]+)">Next page<\/a>/.exec(html)?.[1]?.replace(/&amp;/g, "&");

describe("deliveries pages", () => {
  it("filter by status, event type and window, page by cursor, and retry every failure since a time", async () => {
    const a = await newAccount("dash-dlv");
    const ep = receiverEndpoint("dash-dlv");
    const hook = await newWebhook(a.key, { url: ep.url, retry_config: { max_retries: 0 } });
    const db = recordsDbOf(a.id);
    const now = Date.now();
    // 30 recent deliveries (every third failed, alerts on odd ones) and one failure three days old.
    const specs = Array.from({ length: 30 }, (_, i) => ({ at: now - (30 - i) * 60_000, failed: i % 3 === 0, type: i % 2 ? "alert.triggered" : "sample.scored" }));
    specs.push({ at: now - 3 * 86_400_000, failed: true, type: "sample.scored" });
    for (const s of specs) {
      const eventId = await insertEvent(a.id, { createdAt: s.at, status: "dispatched", type: s.type });
      await db.insert(deliveryAttempts).values({
        webhookId: hook.id,
        deliveryId: deliveryId(eventId, hook.id),
        attempt: 1,
        id: idGenerator(() => s.at)("att"),
        accountId: a.id,
        eventId,
        eventType: s.type,
        status: s.failed ? "failed" : "succeeded",
        trigger: "scheduled",
        startedAt: s.at,
        durationMs: 5,
        responseCode: s.failed ? 500 : 200,
      });
    }
    const br = new DashboardClient();
    await br.signIn(a.key);
    const base = `/dashboard/webhooks/${hook.id}/deliveries`;
    const first = await br.get(base);
    expect(rowsOf(first.text)).toBe(25);
    const second = await br.get(nextLink(first.text)!);
    expect(rowsOf(second.text)).toBe(6);
    expect(nextLink(second.text)).toBeUndefined();
    expect(rowsOf((await br.get(`${base}?status=failed`)).text)).toBe(11);
    const recentFailed = await br.get(`${base}?status=failed&window=24h`);
    expect(rowsOf(recentFailed.text)).toBe(10);
    expect(recentFailed.text).toContain('<option value="failed" selected="">failed</option>');
    expect(rowsOf((await br.get(`${base}?event_type=alert.triggered`)).text)).toBe(15);
    expect(rowsOf((await br.get(`${base}?status=failed&event_type=alert.triggered&window=1h`)).text)).toBe(5);

    // Retry every failure of events since two hours ago: the ten recent ones, not the old one.
    const since = new Date(now - 2 * 3_600_000).toISOString().slice(0, 16);
    const retried = await br.post(`/dashboard/webhooks/${hook.id}/retry_failed`, first.text, { since });
    expect(retried.status).toBe(303);
    expect(retried.headers.get("Location")).toBe(`${base}?queued=10`);
    expect((await br.get(retried.headers.get("Location")!)).text).toContain("10 failed deliveries queued for another attempt.");
    await waitForReceived(ep.name, 10, 20_000);
    await waitFor(async () => rowsOf((await br.get(`${base}?status=failed`)).text) === 1, 20_000, "the retried deliveries to succeed");
  });
});

describe("webhook page", () => {
  it("shows the API's messages inline, previews chat formats, replays events and deletes after a confirmation", async () => {
    const a = await newAccount("dash-wh");
    const ep = receiverEndpoint("dash-wh");
    await plan(ep.name, {});
    const hook = await newWebhook(a.key, { name: "chat", url: ep.url, events: ["evaluation.completed"] });
    const br = new DashboardClient();
    await br.signIn(a.key);
    const page = await br.get(`/dashboard/webhooks/${hook.id}`);
    expect(page.status).toBe(200);

    const form = { name: "chat", url: "", events: "", format: "slack", description: "" };
    const api = await call("PATCH", `/v1/webhooks/${hook.id}`, { key: a.key, body: { name: "chat", url: "", events: [], format: "slack", description: null } });
    expect(api.status).toBe(422);
    const invalid = await br.post(`/dashboard/webhooks/${hook.id}`, page.text, form);
    expect(invalid.status).toBe(422);
    for (const field of ["url", "events"]) {
      expect(invalid.text).toMatch(new RegExp(`id="f-${field}"[^>]*aria-invalid="true"`));
      const message = api.json.error.details.find((d: { field: string }) => d.field.split(".")[0] === field).message;
      expect(invalid.text).toContain(`<p id="f-${field}-err" class="field-error">${escapeHtml(message)}`);
    }
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).json.format).toBe("json");

    const saved = await br.post(`/dashboard/webhooks/${hook.id}`, page.text, { ...form, url: ep.url, events: "evaluation.completed", description: "to chat" });
    expect(saved.headers.get("Location")).toBe(`/dashboard/webhooks/${hook.id}?done=updated`);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).json).toMatchObject({ format: "slack", description: "to chat" });

    const payload = JSON.stringify({ project_id: "triage", evaluation_id: "eval_1", summary: { triage_accuracy: 0.9 } });
    const preview = await br.post(`/dashboard/webhooks/${hook.id}/preview`, page.text, { event_type: "evaluation.completed", payload });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain("Body preview (slack)");
    const expected = await call("POST", `/v1/webhooks/${hook.id}/preview`, { key: a.key, body: { event_type: "evaluation.completed", payload: JSON.parse(payload) } });
    const shown = /<pre id="preview-body">([\s\S]*?)<\/pre>/.exec(preview.text)![1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    expect(JSON.parse(shown)).toEqual(expected.json.body);
    const badPayload = await br.post(`/dashboard/webhooks/${hook.id}/preview`, page.text, { event_type: "evaluation.completed", payload: "[1]" });
    expect(badPayload.status).toBe(422);
    expect(badPayload.text).toContain("must be a JSON object");

    const event = await sendEvent(a.key, { type: "evaluation.completed", data: { project_id: "triage" } });
    await waitForReceived(ep.name, 1);
    const eventPage = await br.get(`/dashboard/events/${event.id}`);
    expect(eventPage.text).toContain(`href="/dashboard/webhooks/${hook.id}"`);
    const replay = await br.post(`/dashboard/events/${event.id}/replay`, eventPage.text);
    expect(replay.headers.get("Location")).toBe(`/dashboard/events/${event.id}?replayed=1`);
    await waitForReceived(ep.name, 2);

    const confirm = await br.get(`/dashboard/webhooks/${hook.id}/delete`);
    expect(confirm.text).toContain("Delete chat?");
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).status).toBe(200);
    const deleted = await br.post(`/dashboard/webhooks/${hook.id}/delete`, confirm.text);
    expect(deleted.headers.get("Location")).toBe("/dashboard?done=deleted");
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { key: a.key })).status).toBe(404);
    expect((await br.get(`/dashboard/webhooks/${hook.id}`)).status).toBe(404);
  });
});
