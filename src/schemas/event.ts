/** Request and response schemas of events and deliveries. */
import { z } from "@hono/zod-openapi";
import { JsonObject } from "./common";

export const SendEventSchema = z
  .strictObject({
    type: z.string().min(1).max(100),
    data: JsonObject,
    metadata: JsonObject.optional(),
    project_id: z.string().min(1).max(200).optional(),
    severity: z.string().min(1).max(50).optional(),
  })
  .openapi("SendEvent", {
    example: {
      type: "evaluation.completed",
      data: {
        evaluation_id: "eval_xyz789",
        project_id: "patient-triage",
        name: "Daily Evaluation - March 15",
        status: "completed",
        summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95, samples_for_review: 23 },
        completed_at: "2024-03-15T10:30:00Z",
      },
      metadata: { model_version: "triage-v2.4", dataset: "ds_daily_march15" },
    },
  });

export const EventSchema = z
  .object({
    id: z.string().openapi({ example: "evt_01HV6Z8K2M3N4P5Q6R7S8T9V0W" }),
    type: z.string(),
    created_at: z.string(),
    data: JsonObject,
    metadata: JsonObject,
    project_id: z.string().nullable(),
    severity: z.string().nullable(),
    status: z.enum(["pending", "dispatched", "dead_lettered"]),
    traceparent: z.string().openapi({
      description: "W3C trace context the event's deliveries continue: the producer's `traceparent`, or a trace the service started",
      example: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }),
    tracestate: z.string().nullable().openapi({ description: "The producer's `tracestate`, sent with every delivery", example: "rojo=00f067aa0ba902b7" }),
  })
  .openapi("Event");

export const DeliverySchema = z
  .object({
    id: z.string(),
    event_id: z.string(),
    webhook_id: z.string(),
    event_type: z.string(),
    status: z.enum(["pending", "succeeded", "failed", "cancelled"]),
    success: z.boolean(),
    attempts: z.number(),
    response_code: z.number().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi("Delivery");

export const AttemptSchema = z
  .object({
    id: z.string(),
    attempt: z.number(),
    trigger: z.enum(["scheduled", "manual", "test"]),
    started_at: z.string(),
    duration_ms: z.number(),
    request_headers: z.record(z.string(), z.string()).nullable(),
    response_code: z.number().nullable(),
    response_headers: z.record(z.string(), z.string()).nullable(),
    response_body: z.string().nullable(),
    error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    traceparent: z.string().nullable().openapi({
      description: "The `traceparent` this attempt sent: the event's trace id with a span id of its own (null when nothing was sent)",
      example: "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01",
    }),
  })
  .openapi("Attempt");
