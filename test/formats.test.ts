import { describe, expect, it } from "vitest";
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  ADAPTIVE_CARD_SCHEMA,
  builtinTemplate,
  CHAT_FORMATS,
  DISCORD_LIMITS,
  OUTPUT_FORMATS,
  previewBody,
  renderBody,
  SLACK_LIMITS,
} from "../src/delivery/formats";
import { isTemplateError, validateTemplates, type EventEnvelope } from "../src/delivery/templates";
import { SEED_DATA, SEED_METADATA, SEED_SLACK_TEMPLATES } from "./support/seed.mjs";

type Json = Record<string, unknown>;

/** The seed's webhook_payload.json. */
const seedEnvelope: EventEnvelope = {
  id: "evt_abc123",
  type: "evaluation.completed",
  created_at: "2024-03-15T10:30:00Z",
  data: SEED_DATA,
  metadata: SEED_METADATA,
};

/** The seed's slack_webhook.py templates. */
const seedSlackTemplates = SEED_SLACK_TEMPLATES;

const seedSlackEvents = ["evaluation.completed", "alert.triggered"];

const envelope = (type: string, data: unknown): EventEnvelope => ({ ...seedEnvelope, id: "evt_01HV6Z8K2M", type, data });

const parse = async (format: string, templates: unknown, env: EventEnvelope): Promise<Json> => {
  const text = await renderBody(format, templates, env);
  expect(text).not.toBeNull();
  return JSON.parse(text!) as Json;
};

describe("the seed's Slack integration", () => {
  it("validates as written", () => {
    expect(validateTemplates("slack", seedSlackTemplates, seedSlackEvents)).toEqual([]);
  });

  it("renders the seed's payload to exactly the expected Slack body", async () => {
    const body = await renderBody("slack", seedSlackTemplates, seedEnvelope);
    expect(body).toBe(
      JSON.stringify({
        text: "Evaluation completed: Daily Evaluation - March 15",
        blocks: [{ type: "section", text: { type: "mrkdwn", text: "*Daily Evaluation - March 15* completed\nAccuracy: 87.0%\nSafety: 95.0%" } }],
      }),
    );
  });

  it("renders the seed's test payload (no name) without 'undefined'", async () => {
    const body = await renderBody("slack", seedSlackTemplates, envelope("evaluation.completed", {
      evaluation_id: "eval_test",
      summary: { triage_accuracy: 0.85, safety_score: 0.92 },
    }));
    expect(JSON.parse(body!)).toEqual({
      text: "Evaluation completed: ",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "** completed\nAccuracy: 85.0%\nSafety: 92.0%" } }],
    });
  });

  it("sends the built-in message for the seed's other event, alert.triggered", async () => {
    const preview = await previewBody("slack", seedSlackTemplates, envelope("alert.triggered", { alert_name: "Accuracy below 80%", severity: "high" }));
    expect(preview.source).toBe("builtin");
    expect((preview.body as Json).text).toBe("⚠️ Alert triggered: Accuracy below 80%");
    expect(await previewBody("slack", seedSlackTemplates, seedEnvelope)).toMatchObject({ source: "custom", template_key: "evaluation.completed" });
  });

  it("keeps the JSON valid when data holds quotes, backslashes and newlines", async () => {
    const name = 'Eval "quoted" \\ back\nslash\t<tab> & more';
    const body = await parse("slack", seedSlackTemplates, envelope("evaluation.completed", { ...(seedEnvelope.data as Json), name }));
    expect(body.text).toBe(`Evaluation completed: ${name}`);
    expect(((body.blocks as Json[])[0]!.text as Json).text).toBe(`*${name}* completed\nAccuracy: 87.0%\nSafety: 95.0%`);
  });
});

/** A realistic payload for every built-in event type. */
const realistic: Record<string, Json> = {
  "evaluation.created": {
    evaluation_id: "eval_xyz789",
    project_id: "patient-triage",
    name: "Daily Evaluation - March 15",
    status: "running",
    config: { dataset: "ds_daily_march15", model_version: "triage-v2.4", total_samples: 1500 },
    url: "https://app.rubric.ai/evaluations/eval_xyz789",
  },
  "evaluation.completed": { ...(seedEnvelope.data as Json), url: "https://app.rubric.ai/evaluations/eval_xyz789" },
  "evaluation.failed": {
    evaluation_id: "eval_xyz789",
    project_id: "patient-triage",
    name: "Daily Evaluation - March 15",
    error: { code: "dataset_unavailable", message: 'Dataset "ds_daily_march15" could not be loaded: <timeout> & no retries left' },
  },
  "sample.scored": {
    sample_id: "smp_123",
    evaluation_id: "eval_xyz789",
    project_id: "symptom-checker",
    score: 0.91234,
    scores: { triage_accuracy: 1, safety_score: 0.9 },
  },
  "review.assigned": {
    sample_id: "smp_123",
    project_id: "patient-triage",
    reviewer: { id: "usr_1", name: "Dr. Ada Lovelace", email: "ada@example.com" },
    priority: "high",
    due_at: "2024-03-16T09:00:00Z",
    reason: "Model and rubric disagree",
  },
  "review.completed": {
    sample_id: "smp_123",
    project_id: "patient-triage",
    review: { reviewer_id: "usr_1", ai_correct: false, decision: "escalate", notes: 'Chest pain "radiating"\nshould be urgent' },
  },
  "alert.triggered": {
    alert_id: "alt_1",
    alert_name: "Triage accuracy below 80%",
    severity: "high",
    project_id: "patient-triage",
    metric: "triage_accuracy",
    value: 0.78,
    threshold: 0.8,
    message: "Accuracy dropped over the last 3 runs",
  },
  "safety.critical": {
    sample_id: "smp_999",
    evaluation_id: "eval_xyz789",
    project_id: "patient-triage",
    severity: "critical",
    issue: { type: "missed_emergency", description: "Model advised home care for stroke symptoms" },
    url: "https://app.rubric.ai/samples/smp_999",
  },
  "webhook.disabled": {
    webhook_id: "wh_1",
    name: "production-notifications",
    url: "https://your-api.example.com/webhooks/rubric",
    reason: "failing for 120 hours",
    disabled_at: "2024-03-20T10:30:00Z",
  },
  "delivery.exhausted": {
    delivery_id: "dlv_1",
    webhook_id: "wh_1",
    event_id: "evt_abc123",
    event_type: "evaluation.completed",
    attempts: 8,
    response_code: 503,
    last_error: "HTTP 503 Service Unavailable",
  },
};

const EVENT_TYPES = Object.keys(realistic);

const isUrl = (v: unknown) => typeof v === "string" && /^https?:\/\//.test(v);

function checkSlack(body: Json): void {
  expect(typeof body.text).toBe("string");
  expect((body.text as string).trim()).not.toBe("");
  const blocks = body.blocks as Json[];
  expect(Array.isArray(blocks)).toBe(true);
  expect(blocks.length).toBeGreaterThan(0);
  expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of blocks) {
    expect(typeof block).toBe("object");
    expect(typeof block.type).toBe("string");
    if (block.type === "header") expect(((block.text as Json).text as string).length).toBeLessThanOrEqual(150);
    if (block.type === "section") {
      const text = block.text as Json | undefined;
      if (text) {
        expect((text.text as string).trim()).not.toBe("");
        expect((text.text as string).length).toBeLessThanOrEqual(3000);
      }
      const fields = (block.fields as Json[] | undefined) ?? [];
      expect(text || fields.length > 0).toBeTruthy();
      expect(fields.length).toBeLessThanOrEqual(10);
      for (const f of fields) expect((f.text as string).length).toBeLessThanOrEqual(2000);
    }
    if (block.type === "actions") for (const e of block.elements as Json[]) expect(isUrl(e.url)).toBe(true);
  }
}

function checkDiscord(body: Json): void {
  expect(typeof body.content).toBe("string");
  expect((body.content as string).length).toBeLessThanOrEqual(DISCORD_LIMITS.content);
  expect(body.allowed_mentions).toEqual({ parse: [] });
  const embeds = body.embeds as Json[];
  expect(Array.isArray(embeds)).toBe(true);
  expect(embeds.length).toBeLessThanOrEqual(10);
  let total = 0;
  for (const embed of embeds) {
    const title = (embed.title as string | undefined) ?? "";
    const description = (embed.description as string | undefined) ?? "";
    expect(title.length).toBeLessThanOrEqual(256);
    expect(description.length).toBeLessThanOrEqual(4096);
    total += title.length + description.length;
    const fields = (embed.fields as Json[] | undefined) ?? [];
    expect(fields.length).toBeLessThanOrEqual(25);
    for (const f of fields) {
      expect(typeof f.name).toBe("string");
      expect(typeof f.value).toBe("string");
      expect((f.name as string).trim()).not.toBe("");
      expect((f.value as string).trim()).not.toBe("");
      expect((f.name as string).length).toBeLessThanOrEqual(256);
      expect((f.value as string).length).toBeLessThanOrEqual(1024);
      total += (f.name as string).length + (f.value as string).length;
    }
    const footer = (embed.footer as Json | undefined)?.text as string | undefined;
    if (footer !== undefined) expect(footer.length).toBeLessThanOrEqual(2048);
    total += footer?.length ?? 0;
    total += (((embed.author as Json | undefined)?.name as string | undefined) ?? "").length;
    if ("url" in embed) expect(isUrl(embed.url)).toBe(true);
    if ("color" in embed) expect(Number.isInteger(embed.color)).toBe(true);
    if ("timestamp" in embed) expect(Number.isNaN(Date.parse(embed.timestamp as string))).toBe(false);
  }
  expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.total);
}

function checkElements(elements: Json[]): void {
  for (const element of elements) {
    expect(typeof element.type).toBe("string");
    if (element.type === "TextBlock") expect((element.text as string).trim()).not.toBe("");
    if (Array.isArray(element.items)) checkElements(element.items as Json[]);
  }
}

function checkTeams(body: Json): void {
  expect(body.type).toBe("message");
  const attachments = body.attachments as Json[];
  expect(attachments).toHaveLength(1);
  expect(attachments[0]!.contentType).toBe(ADAPTIVE_CARD_CONTENT_TYPE);
  const card = attachments[0]!.content as Json;
  expect(card).toMatchObject({ type: "AdaptiveCard", $schema: ADAPTIVE_CARD_SCHEMA, version: "1.4" });
  const cardBody = card.body as Json[];
  expect(Array.isArray(cardBody)).toBe(true);
  expect(cardBody.length).toBeGreaterThan(0);
  checkElements(cardBody);
  for (const action of (card.actions as Json[] | undefined) ?? []) expect(isUrl(action.url)).toBe(true);
}

const CHECKS = { slack: checkSlack, discord: checkDiscord, msteams: checkTeams } as const;

describe("built-in messages", () => {
  for (const format of CHAT_FORMATS) {
    for (const type of EVENT_TYPES) {
      for (const [label, data] of [
        ["a realistic payload", realistic[type]],
        ["empty data", {}],
      ] as const) {
        it(`${format} ${type} with ${label}`, async () => {
          const text = await renderBody(format, undefined, envelope(type, data));
          expect(text).not.toMatch(/undefined|NaN|\[object Object\]/);
          const body = JSON.parse(text!) as Json;
          CHECKS[format](body);
          expect((await previewBody(format, undefined, envelope(type, data))).source).toBe("builtin");
        });
      }
    }
  }

  it("are templates in the template language that pass validation", () => {
    for (const format of CHAT_FORMATS) {
      for (const type of [...EVENT_TYPES, "custom.thing"]) {
        expect(validateTemplates(format, { "*": builtinTemplate(format, type) }, ["*"])).toEqual([]);
      }
    }
  });

  it("show the key figures of evaluation.completed in every chat format", async () => {
    for (const format of CHAT_FORMATS) {
      const text = (await renderBody(format, null, envelope("evaluation.completed", realistic["evaluation.completed"])))!;
      for (const expected of ["Daily Evaluation - March 15", "patient-triage", "87.0%", "95.0%", "500", "23", "https://app.rubric.ai/evaluations/eval_xyz789"]) {
        expect(text, `${format}: ${expected}`).toContain(expected);
      }
    }
  });

  it("link to data.url only when it is an http(s) URL", async () => {
    const slack = await parse("slack", null, envelope("evaluation.completed", realistic["evaluation.completed"]));
    expect((slack.blocks as Json[]).find((b) => b.type === "actions")).toEqual({
      type: "actions",
      elements: [{ type: "button", text: { type: "plain_text", text: "View results" }, url: "https://app.rubric.ai/evaluations/eval_xyz789" }],
    });
    for (const url of [undefined, "", "javascript:alert(1)", "not a url"]) {
      const data = { ...realistic["evaluation.completed"], url };
      const body = await renderBody("slack", null, envelope("evaluation.completed", data));
      expect((JSON.parse(body!).blocks as Json[]).some((b) => b.type === "actions")).toBe(false);
      const discord = await parse("discord", null, envelope("evaluation.completed", data));
      expect((discord.embeds as Json[])[0]).not.toHaveProperty("url");
      const teams = await parse("msteams", null, envelope("evaluation.completed", data));
      expect(((teams.attachments as Json[])[0]!.content as Json).actions).toBeUndefined();
    }
  });

  it("escape payload text in Slack so it cannot mention or link", async () => {
    const data = { ...realistic["evaluation.completed"], name: "<!channel> Q&A <https://evil.example|click>", project_id: "<@U123>" };
    const text = (await renderBody("slack", null, envelope("evaluation.completed", data)))!;
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<@U123>");
    expect(text).not.toContain("<https://evil");
    const body = JSON.parse(text) as Json;
    expect(body.text).toBe("✅ Evaluation completed: &lt;!channel&gt; Q&amp;A &lt;https://evil.example|click&gt;");
  });

  it("make safety.critical visibly urgent", async () => {
    const env = envelope("safety.critical", realistic["safety.critical"]);
    const slack = await parse("slack", null, env);
    expect(slack.text).toMatch(/^🚨 CRITICAL/);
    expect((slack.blocks as Json[])[0]).toEqual({ type: "header", text: { type: "plain_text", text: "🚨 CRITICAL safety issue detected", emoji: true } });
    expect(JSON.stringify(slack)).toContain("missed_emergency");
    const discord = await parse("discord", null, env);
    expect((discord.embeds as Json[])[0]!.color).toBe(0xd32f2f);
    expect(discord.content).toMatch(/^🚨 \*\*CRITICAL/);
    const teams = await parse("msteams", null, env);
    const card = (teams.attachments as Json[])[0]!.content as Json;
    const header = (card.body as Json[])[0]!;
    expect(header).toMatchObject({ type: "Container", style: "attention" });
    expect((header.items as Json[])[0]).toMatchObject({ text: "🚨 CRITICAL safety issue detected", color: "Attention" });
  });

  it("show details such as errors, and leave them out when absent", async () => {
    const failed = await parse("slack", null, envelope("evaluation.failed", realistic["evaluation.failed"]));
    expect(JSON.stringify(failed)).toContain("Dataset \\\"ds_daily_march15\\\" could not be loaded: &lt;timeout&gt; &amp; no retries left");
    const empty = await parse("slack", null, envelope("evaluation.failed", {}));
    expect((empty.blocks as Json[]).filter((b) => b.type === "section")).toHaveLength(1);
  });

  it("fall back to a generic message showing the payload for other event types", async () => {
    const env = envelope("model.deployed", { project_id: "patient-triage", version: "v3" });
    for (const format of CHAT_FORMATS) {
      const preview = await previewBody(format, null, env);
      expect(preview.source).toBe("generic");
      const text = JSON.stringify(preview.body);
      expect(text).toContain("model.deployed");
      expect(text).toContain("v3");
      CHECKS[format](preview.body as Json);
    }
  });
});

describe("custom chat templates", () => {
  const long = "L".repeat(5000);

  it("are cut to Discord's limits", async () => {
    const embed = {
      title: "{{ data.long }}",
      description: "{{ data.long }}",
      fields: Array.from({ length: 30 }, () => ({ name: "{{ data.long }}", value: "{{ data.long }}", inline: true })),
      footer: { text: "{{ data.long }}" },
      color: 255,
    };
    const body = await parse("discord", { "*": { content: "{{ data.long }}", embeds: Array.from({ length: 12 }, () => embed) } }, envelope("x.y", { long }));
    checkDiscord(body);
    expect(body.content).toBe(`${"L".repeat(1999)}…`);
    const first = (body.embeds as Json[])[0]!;
    expect(first.title).toBe(`${"L".repeat(255)}…`);
    expect((first.description as string).length).toBe(4096);
    expect((first.fields as Json[])[0]).toEqual({ name: `${"L".repeat(255)}…`, value: `${"L".repeat(1023)}…`, inline: true });
  });

  it("drop empty Discord fields and keep the template's allowed_mentions", async () => {
    const template = {
      content: "hi",
      embeds: [{ title: "t", fields: [{ name: "A", value: "{{ data.missing }}" }, { name: "B", value: "{{ data.n }}" }] }],
      allowed_mentions: { parse: ["users"] },
    };
    const body = await parse("discord", { "x.*": template }, envelope("x.y", { n: 5 }));
    expect(body).toEqual({ content: "hi", embeds: [{ title: "t", fields: [{ name: "B", value: "5" }] }], allowed_mentions: { parse: ["users"] } });
    expect(await parse("discord", { "*": "plain {{ data.n }}" }, envelope("x.y", { n: 5 }))).toEqual({ content: "plain 5", allowed_mentions: { parse: [] } });
  });

  it("are cut to Slack's limits", async () => {
    const template = {
      text: "{{ data.long }}",
      blocks: [
        { type: "header", text: { type: "plain_text", text: "{{ data.long }}" } },
        { type: "section", text: { type: "mrkdwn", text: "{{ data.long }}" } },
        { type: "section", text: { type: "mrkdwn", text: "{{ data.missing }}" } },
        { type: "divider" },
      ],
    };
    const body = await parse("slack", { "*": template }, envelope("x.y", { long }));
    checkSlack(body);
    expect(body.text).toBe(long);
    expect((body.blocks as Json[]).map((b) => b.type)).toEqual(["header", "section", "divider"]);
    expect((((body.blocks as Json[])[1]!.text as Json).text as string).length).toBe(3000);
    expect(await parse("slack", { "*": "just {{ type }}" }, envelope("x.y", {}))).toEqual({ text: "just x.y" });
  });

  it("become Teams messages from a card body, a card, a message or text", async () => {
    const env = envelope("x.y", { n: 5 });
    const body = [{ type: "TextBlock", text: "n = {{ data.n }}", wrap: true }];
    const card = (x: Json) => ((x.attachments as Json[])[0]!.content as Json);
    const fromArray = await parse("msteams", { "*": body }, env);
    checkTeams(fromArray);
    expect(card(fromArray)).toEqual({ type: "AdaptiveCard", $schema: ADAPTIVE_CARD_SCHEMA, version: "1.4", body: [{ type: "TextBlock", text: "n = 5", wrap: true }] });
    const fromCard = await parse("msteams", { "*": { type: "AdaptiveCard", version: "1.5", body } }, env);
    expect(card(fromCard)).toMatchObject({ type: "AdaptiveCard", version: "1.5", $schema: ADAPTIVE_CARD_SCHEMA });
    const message = { type: "message", summary: "{{ type }}", attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: { type: "AdaptiveCard", version: "1.4", body } }] };
    const fromMessage = await parse("msteams", { "*": message }, env);
    expect(fromMessage.summary).toBe("x.y");
    expect(card(fromMessage).body).toEqual([{ type: "TextBlock", text: "n = 5", wrap: true }]);
    const fromText = await parse("msteams", { "*": "n is {{ data.n }}" }, env);
    checkTeams(fromText);
    expect(card(fromText).body).toEqual([{ type: "TextBlock", text: "n is 5", wrap: true }]);
  });
});

describe("the template format", () => {
  const templates = {
    "evaluation.*": {
      event: "{{ type }}",
      accuracy: "{{ data.summary.triage_accuracy | percent }}",
      count: 3,
      ratio: 0.5,
      flags: [true, false, null],
      nested: [[1, 2], [{ project: "{{ data.project_id | upper }}" }]],
      note: "{{ data.note }}",
      missing: "{{ data.nothing.here }}",
    },
    "*": "{{ type }} happened",
  };

  it("sends the customer's JSON with strings rendered and everything else as written", async () => {
    const note = 'He said "stop"\nthen left\t\\ ok </script>';
    const body = await parse("template", templates, envelope("evaluation.completed", { ...(seedEnvelope.data as Json), note }));
    expect(body).toEqual({
      event: "evaluation.completed",
      accuracy: "87.0%",
      count: 3,
      ratio: 0.5,
      flags: [true, false, null],
      nested: [[1, 2], [{ project: "PATIENT-TRIAGE" }]],
      note,
      missing: "",
    });
    expect(await renderBody("template", templates, envelope("review.completed", {}))).toBe('"review.completed happened"');
  });

  it("sends the envelope (null) when no template applies", async () => {
    expect(await renderBody("template", { "evaluation.*": {} }, envelope("review.completed", {}))).toBeNull();
    expect(await previewBody("template", { "evaluation.*": {} }, seedEnvelope)).toMatchObject({ source: "custom", template_key: "evaluation.*" });
  });
});

describe("renderBody", () => {
  it("answers null for json: the envelope is sent as stored", async () => {
    expect(await renderBody("json", undefined, seedEnvelope)).toBeNull();
    expect(await previewBody("json", undefined, seedEnvelope)).toEqual({ body: seedEnvelope, source: "envelope", template_key: null });
  });

  it("lists the formats", () => {
    expect(OUTPUT_FORMATS).toEqual(["json", "slack", "discord", "msteams", "template"]);
    expect(CHAT_FORMATS).toEqual(["slack", "discord", "msteams"]);
  });

  it("uses the exact type's template before wildcards and *", async () => {
    const templates = { "*": "any", "evaluation.*": "wild", "evaluation.completed": "exact" };
    expect(await parse("slack", templates, seedEnvelope)).toEqual({ text: "exact" });
    expect(await parse("slack", templates, envelope("evaluation.failed", {}))).toEqual({ text: "wild" });
    expect(await parse("slack", templates, envelope("review.completed", {}))).toEqual({ text: "any" });
  });

  it("throws a TemplateError naming the template when a stored template cannot render", async () => {
    const error = await renderBody("slack", { "evaluation.*": { text: "{{ data.name | nope }}" } }, seedEnvelope).catch((e: unknown) => e);
    expect(isTemplateError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^template "evaluation\.\*" at text, line 1, column 16: unknown filter "nope"/);
    await expect(renderBody("yaml", undefined, seedEnvelope)).rejects.toThrow(/unknown format/);
  });
});
