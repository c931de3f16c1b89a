/** The producer side: events are stored first (the outbox), then announced on the queue. */
import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { events } from "../db/schema";
import { eventAttributes } from "../dispatch/match";
import { eventMessage } from "../dispatch/messages";
import { ApiError } from "../lib/errors";
import { BUILTIN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from "../lib/event-types";
import { createRouter } from "../lib/router";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { EventSchema, SendEventSchema } from "../schemas/event";
import { eventToWire } from "./wire";

/** Event bodies may be up to 256 KiB. */
export const MAX_EVENT_BYTES = 256 * 1024;

const sendEvent = createRoute({
  method: "post",
  path: "/",
  summary: "Send an event; it is stored before the answer and delivered to every matching webhook",
  middleware: [
    bodyLimit({
      maxSize: MAX_EVENT_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `Event bodies are limited to ${MAX_EVENT_BYTES} bytes`);
      },
    }),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: SendEventSchema } } } },
  responses: {
    202: { description: "Accepted: stored and queued for delivery", content: { "application/json": { schema: EventSchema } } },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});

export const eventsRouter = createRouter();
eventsRouter.use("*", apiKeyAuth());

eventsRouter.openapi(sendEvent, async (c) => {
  const input = c.req.valid("json");
  if (!(input.type in BUILTIN_EVENT_TYPES) || OPERATIONAL_EVENT_TYPES.has(input.type)) {
    throw new ApiError("validation_failed", `Invalid request: type unknown event type '${input.type}'`, [
      { field: "type", message: `unknown event type '${input.type}'` },
    ]);
  }
  const { projectId, severity } = eventAttributes(input);
  const row = {
    id: c.var.newId("evt"),
    accountId: c.var.principal.accountId,
    type: input.type,
    createdAt: Date.now(),
    data: JSON.stringify(input.data),
    metadata: JSON.stringify(input.metadata ?? {}),
    projectId,
    severity,
    status: "pending" as const,
  };
  // Stored first: once this write lands the event is accepted, whatever happens to the queue send.
  await c.var.db.insert(events).values(row);
  c.var.meter.add("events_accepted");
  try {
    await c.env.EVENTS_QUEUE.send(eventMessage(row.accountId, row.id), { contentType: "json" });
    c.var.meter.add("queue_operations");
  } catch (err) {
    // The outbox sweeper re-enqueues events left pending, so a failed send delays but never loses.
    console.warn(`queue send failed for ${row.id}; the sweeper will retry`, err);
  }
  return c.json(eventToWire(row), 202);
});

export type SendEventResult = z.infer<typeof EventSchema>;
