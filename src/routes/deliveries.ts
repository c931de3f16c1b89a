/** One delivery (an event to a webhook) with every attempt made. */
import { recordsOf } from "../middleware/request-context";
import { createRoute, z } from "@hono/zod-openapi";
import { deliveryAttemptsOf } from "../db/delivery-queries";
import { notFound } from "../lib/errors";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { AttemptSchema, DeliverySchema } from "../schemas/event";
import { endpointObject } from "./lookups";
import { createRouter } from "./router";
import { attemptToWire, deliveryToWire } from "./wire";

const DeliveryId = z.object({
  id: z
    .string()
    .regex(/^dlv_[0-9A-Z]{52}$/, "must be a dlv_ id")
    .openapi({ param: { name: "id", in: "path" }, example: "dlv_01M8HPNNRRWD3RKKR5FNPX3Y0X01M8HPNNR25R99JKFSE78JRF6B" }),
});

const getDelivery = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a delivery with its attempts",
  request: { params: DeliveryId },
  responses: {
    200: {
      description: "The delivery",
      content: { "application/json": { schema: DeliverySchema.extend({ attempt_log: z.array(AttemptSchema) }) } },
    },
    ...errorResponses(401, 404, 422),
  },
});

export const deliveriesRouter = createRouter();
deliveriesRouter.use("*", apiKeyAuth());

deliveriesRouter.openapi(getDelivery, async (c) => {
  const attempts = await deliveryAttemptsOf(recordsOf(c), c.var.principal.accountId, c.req.valid("param").id);
  const latest = attempts[attempts.length - 1];
  // Not yet attempted (still queued at its endpoint) looks the same as unknown for now.
  if (!latest) throw notFound("Delivery");
  return c.json({ ...deliveryToWire(latest), attempt_log: attempts.map(attemptToWire) }, 200);
});

const retryDelivery = createRoute({
  method: "post",
  path: "/{id}/retry",
  summary: "Send a delivery again now, as a manual attempt (in its webhook's order)",
  request: { params: DeliveryId },
  responses: {
    202: { description: "Queued", content: { "application/json": { schema: z.object({ delivery_id: z.string(), queued: z.literal(true) }) } } },
    ...errorResponses(401, 404, 422),
  },
});

deliveriesRouter.openapi(retryDelivery, async (c) => {
  const id = c.req.valid("param").id;
  const attempts = await deliveryAttemptsOf(recordsOf(c), c.var.principal.accountId, id);
  const latest = attempts[attempts.length - 1];
  if (!latest) throw notFound("Delivery");
  await endpointObject(c.env, latest.webhookId).enqueue([id], "manual");
  return c.json({ delivery_id: id, queued: true as const }, 202);
});
