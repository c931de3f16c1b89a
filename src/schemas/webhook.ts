/** Request and response schemas of webhooks (endpoints). */
import { z } from "@hono/zod-openapi";
import { OUTPUT_FORMATS } from "../delivery/formats";
import { JsonObject } from "./common";

const DAY_MS = 86_400_000;

export const RetryConfigSchema = z
  .strictObject({
    max_retries: z.number().int().min(0).max(20).optional(),
    backoff: z.enum(["exponential", "linear", "fixed"]).optional(),
    initial_delay_ms: z.number().int().min(100).max(DAY_MS).optional(),
    max_delay_ms: z.number().int().min(1000).max(DAY_MS).optional(),
    schedule_ms: z.array(z.number().int().min(0).max(DAY_MS)).min(1).max(20).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.schedule_ms && (v.backoff || v.initial_delay_ms !== undefined || v.max_delay_ms !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["schedule_ms"], message: "cannot be combined with backoff, initial_delay_ms or max_delay_ms" });
    }
    if (!v.backoff && !v.schedule_ms && (v.initial_delay_ms !== undefined || v.max_delay_ms !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["backoff"], message: "is required when initial_delay_ms or max_delay_ms is given" });
    }
    if (v.initial_delay_ms !== undefined && v.max_delay_ms !== undefined && v.max_delay_ms < v.initial_delay_ms) {
      ctx.addIssue({ code: "custom", path: ["max_delay_ms"], message: "must be at least initial_delay_ms" });
    }
  })
  .openapi("RetryConfig", { example: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 } });

/** Seed attribute lists and payload path comparisons; checked in detail by dispatch/payload-filter.ts. */
export const FiltersSchema = z.record(z.string(), z.unknown()).openapi("Filters", {
  example: {
    projects: ["patient-triage", "symptom-checker"],
    severity: ["high", "critical"],
    "data.summary.triage_accuracy": { $lt: 0.8 },
  },
});

/** Extra outbound headers; names and values are checked by routes/webhook-rules.ts. */
export const HeadersSchema = z.record(z.string(), z.string()).openapi("OutboundHeaders", { example: { "X-Team": "ml-platform" } });

const webhookFields = {
  name: z.string().trim().min(1).max(200),
  url: z.string().min(1).max(2048),
  events: z.array(z.string().min(1).max(100)).min(1).max(100),
  filters: FiltersSchema.nullable(),
  retry_config: RetryConfigSchema.nullable(),
  ordering: z.enum(["fifo", "parallel"]),
  max_in_flight: z.number().int().min(1).max(6),
  rate_limit_per_second: z.number().int().min(1).max(1000).nullable(),
  timeout_ms: z.number().int().min(1000).max(30_000),
  format: z.enum(OUTPUT_FORMATS),
  templates: z.record(z.string(), z.unknown()).nullable(),
  headers: HeadersSchema.nullable(),
  description: z.string().max(1000).nullable(),
  metadata: JsonObject.nullable(),
};

const secretField = z
  .string()
  .min(16)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

export const CreateWebhookSchema = z
  .strictObject({
    ...webhookFields,
    transport: z
      .enum(["http", "listen"])
      .default("http")
      .openapi({
        description:
          "`http`: signed POSTs to `url`. `listen`: deliveries go over the WebSocket `rubric listen` attaches (GET /v1/webhooks/{id}/listen), " +
          "and `url` is the local address the CLI forwards to (never fetched by the service). Fixed at creation.",
      }),
    secret: secretField.optional(),
    filters: webhookFields.filters.optional(),
    retry_config: webhookFields.retry_config.optional(),
    ordering: webhookFields.ordering.default("fifo"),
    max_in_flight: webhookFields.max_in_flight.default(6),
    rate_limit_per_second: webhookFields.rate_limit_per_second.optional(),
    timeout_ms: webhookFields.timeout_ms.default(10_000),
    format: webhookFields.format.default("json"),
    templates: webhookFields.templates.optional(),
    headers: webhookFields.headers.optional(),
    description: webhookFields.description.optional(),
    metadata: webhookFields.metadata.optional(),
  })
  .openapi("CreateWebhook", {
    example: {
      name: "production-notifications",
      url: "https://your-api.example.com/webhooks/rubric",
      events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
      secret: "whsec_your_signing_secret",
      filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
      retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
    },
  });

/** PATCH: any field; `null` clears an optional one. */
export const UpdateWebhookSchema = z
  .strictObject(Object.fromEntries(Object.entries(webhookFields).map(([k, v]) => [k, v.optional()])) as {
    [K in keyof typeof webhookFields]: z.ZodOptional<(typeof webhookFields)[K]>;
  })
  .openapi("UpdateWebhook", { example: { url: "https://your-api.example.com/webhooks/rubric-v2", events: ["evaluation.*"] } });

export type UpdateWebhookInput = z.infer<typeof UpdateWebhookSchema>;
export type CreateWebhookInput = z.infer<typeof CreateWebhookSchema>;

export const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W" }),
    name: z.string(),
    url: z.string(),
    transport: z.enum(["http", "listen"]),
    events: z.array(z.string()),
    filters: FiltersSchema.nullable(),
    retry_config: z.record(z.string(), z.unknown()).nullable(),
    ordering: z.enum(["fifo", "parallel"]),
    max_in_flight: z.number(),
    rate_limit_per_second: z.number().nullable(),
    timeout_ms: z.number(),
    format: z.string(),
    templates: z.record(z.string(), z.unknown()).nullable(),
    headers: z.record(z.string(), z.string()).nullable(),
    status: z.enum(["active", "disabled"]),
    disabled_reason: z.string().nullable(),
    description: z.string().nullable(),
    metadata: JsonObject.nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Webhook");

/** The create answer: the webhook and, this once, its secret. */
export const CreatedWebhookSchema = WebhookSchema.extend({ secret: z.string() }).openapi("CreatedWebhook");
