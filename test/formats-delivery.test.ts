import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SEED_DATA, SEED_SLACK_BODY, SEED_SLACK_TEMPLATES } from "./support/seed.mjs";
import { call, newAccount, newWebhook, receiverEndpoint, waitForReceived } from "./support/helpers";

const SEED_TEMPLATES = SEED_SLACK_TEMPLATES;
const EXPECTED_SLACK = SEED_SLACK_BODY;

describe("Slack format, as the seed configures it", () => {
  it("delivers the rendered Slack body, signed over exactly those bytes", async () => {
    const { key } = await newAccount();
    const ep = receiverEndpoint("slack");
    const hook = await newWebhook(key, {
      name: "slack-notifications",
      url: ep.url,
      events: ["evaluation.completed", "alert.triggered"],
      format: "slack",
      templates: SEED_TEMPLATES,
    });
    expect(hook).toMatchObject({ format: "slack", templates: SEED_TEMPLATES });
    await call("POST", "/v1/events", { key, body: { type: "evaluation.completed", data: SEED_DATA, metadata: { model_version: "triage-v2.4" } } });
    await call("POST", "/v1/events", { key, body: { type: "alert.triggered", data: { alert_name: "Accuracy drop", project_id: "patient-triage" } } });
    const [slack, builtin] = await waitForReceived(ep.name, 2);
    expect(JSON.parse(slack!.body)).toEqual(EXPECTED_SLACK);
    expect(slack!.headers["content-type"]).toBe("application/json");
    const ts = slack!.headers["x-rubric-timestamp"];
    const expected = createHmac("sha256", hook.secret).update(`${ts}.${slack!.body}`).digest("hex");
    expect(slack!.headers["x-rubric-signature"]).toBe(`sha256=${expected}`);
    expect(slack!.headers["x-rubric-event-type"]).toBe("evaluation.completed");
    // No template for alert.triggered: the built-in Slack message.
    const body = JSON.parse(builtin!.body);
    expect(body.text).toEqual(expect.any(String));
    expect(body.text).not.toContain("undefined");
    expect(Array.isArray(body.blocks)).toBe(true);

    const preview = await call("POST", `/v1/webhooks/${hook.id}/preview`, { key, body: { event_type: "evaluation.completed", payload: SEED_DATA } });
    expect(preview.json).toEqual({ format: "slack", body: EXPECTED_SLACK, source: "custom", template_key: "evaluation.completed" });
  });
});

describe("templates", () => {
  const base = { name: "t", events: ["evaluation.completed"], format: "slack" };

  it("are refused at create with the event type, path and position of the error", async () => {
    const { key } = await newAccount();
    const url = receiverEndpoint().url;
    const unparsable = await call("POST", "/v1/webhooks", { key, body: { ...base, url, templates: { "evaluation.completed": { text: "Done: {{ data.name" } } } });
    expect(unparsable.status).toBe(422);
    expect(unparsable.json.error.details[0].field).toBe("templates.evaluation.completed.text");
    expect(unparsable.json.error.details[0].message).toMatch(/evaluation\.completed/);
    expect(unparsable.json.error.details[0].message).toMatch(/line|column|position|offset/i);
    const unknownFilter = await call("POST", "/v1/webhooks", { key, body: { ...base, url, templates: { "evaluation.completed": { text: "{{ data.x | shout }}" } } } });
    expect(unknownFilter.status).toBe(422);
    expect(unknownFilter.json.error.details[0].message).toMatch(/shout/);
    const unsubscribed = await call("POST", "/v1/webhooks", { key, body: { ...base, url, templates: { "safety.critical": { text: "x" } } } });
    expect(unsubscribed.status).toBe(422);
    expect(unsubscribed.json.error.details[0].field).toContain("safety.critical");
    const jsonWithTemplates = await call("POST", "/v1/webhooks", { key, body: { ...base, format: "json", url, templates: { "*": { text: "x" } } } });
    expect(jsonWithTemplates.status).toBe(422);
    const unknownFormat = await call("POST", "/v1/webhooks", { key, body: { ...base, format: "telegram", url } });
    expect(unknownFormat.status).toBe(422);
    expect(unknownFormat.json.error.details[0].field).toBe("format");
  });

  it("can be previewed without a webhook", async () => {
    const { key } = await newAccount();
    const res = await call("POST", "/v1/templates/preview", {
      key,
      body: { format: "template", template: { summary: "{{ data.name | upper }}", accuracy: "{{ data.summary.triage_accuracy | percent: 0 }}", raw: 5 }, event: { type: "evaluation.completed", data: SEED_DATA } },
    });
    expect(res.status).toBe(200);
    expect(res.json.body).toEqual({ summary: "DAILY EVALUATION - MARCH 15", accuracy: "87%", raw: 5 });
    const discord = await call("POST", "/v1/templates/preview", { key, body: { format: "discord", event: { type: "safety.critical", data: {} } } });
    expect(discord.json.source).toBe("builtin");
    expect(JSON.stringify(discord.json.body)).not.toContain("undefined");
    const bad = await call("POST", "/v1/templates/preview", { key, body: { format: "slack", template: { text: "{{ x | nope }}" }, event: { type: "a.b", data: {} } } });
    expect(bad.status).toBe(422);
  });
});
