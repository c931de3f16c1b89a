/** One delivery (an event to a webhook) with every attempt made. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { deliveries, deliveryAttempts } from "../db/schema";
import { notFound } from "../lib/errors";
import { createRouter } from "../lib/router";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, idParam } from "../schemas/common";
import { AttemptSchema, DeliverySchema } from "../schemas/event";
import { attemptToWire, deliveryToWire } from "./wire";

const getDelivery = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a delivery with its attempts",
  request: { params: idParam("dlv", "dlv_01HV6Z8K2M3N4P5Q6R7S8T9V0W") },
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
  const { id } = c.req.valid("param");
  const db = c.var.db;
  const [delivery, attempts] = await db.batch([
    db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.id, id), eq(deliveries.accountId, c.var.principal.accountId))),
    db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, id)).orderBy(asc(deliveryAttempts.attempt)),
  ]);
  if (!delivery[0]) throw notFound("Delivery");
  return c.json({ ...deliveryToWire(delivery[0]), attempt_log: attempts.map(attemptToWire) }, 200);
});
