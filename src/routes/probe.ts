/** Operator-only benchmark probes: the runtime's ceilings, measured from inside it. */
import { createRoute, z } from "@hono/zod-openapi";
import { validationFailed } from "../lib/errors";
import { urlPolicy, urlRefusal } from "../lib/url-guard";
import { adminAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { createRouter } from "./router";

const probeFetch = createRoute({
  method: "post",
  path: "/fetch",
  summary: "Plain fetches per second from a Durable Object to a URL (operator token)",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            url: z.string().max(2048),
            count: z.number().int().min(1).max(20_000),
            concurrency: z.number().int().min(1).max(32).default(1),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "What the probe measured",
      content: {
        "application/json": {
          schema: z.object({ count: z.number(), concurrency: z.number(), failures: z.number(), duration_ms: z.number(), fetches_per_second: z.number() }),
        },
      },
    },
    ...errorResponses(401, 422),
  },
});

export const probeRouter = createRouter();
probeRouter.use("*", adminAuth());
probeRouter.openapi(probeFetch, async (c) => {
  const { url, count, concurrency } = c.req.valid("json");
  const refusal = urlRefusal(url, urlPolicy(c.env));
  if (refusal) throw validationFailed([{ field: "url", message: refusal }]);
  const probe = c.env.ENDPOINT.get(c.env.ENDPOINT.idFromName("probe:fetch"));
  return c.json(await probe.probeFetch(url, count, concurrency), 200);
});
