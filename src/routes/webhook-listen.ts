/**
 * `GET /v1/webhooks/{id}/listen`: the WebSocket `rubric listen` attaches to.
 * The key must be able to change the webhook (`webhooks:write`: the socket
 * receives its deliveries and answers for them), the webhook must be the
 * key's account's and a listen webhook. The socket itself is the endpoint's
 * object's (dispatch/listen-socket.ts); this route only checks and hands over.
 */
import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../lib/errors";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { endpointObject, ownWebhook } from "./lookups";
import { createRouter } from "./router";
import { WebhookId } from "./webhooks";

const listen = createRoute({
  method: "get",
  path: "/{id}/listen",
  summary:
    "Attach a listener (rubric listen): a WebSocket over which the webhook's deliveries arrive, signed as over HTTP, and their answers go back; " +
    "send {\"type\":\"ping\"} every 10 s. Listen webhooks only",
  request: { params: WebhookId },
  responses: { 101: { description: "Switching Protocols: the socket is attached" }, ...errorResponses(401, 403, 404, 409, 422) },
});

export const webhookListenRouter = createRouter();
webhookListenRouter.use("*", apiKeyAuth());

webhookListenRouter.openapi(listen, async (c) => {
  const webhook = await ownWebhook(c, c.req.valid("param").id);
  if (webhook.transport !== "listen") throw new ApiError("conflict", `Webhook ${webhook.id} delivers over HTTP; only a webhook created with "transport": "listen" takes a listener`);
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError("bad_request", "This route takes a WebSocket upgrade (Upgrade: websocket)");
  const headers = new Headers({ Upgrade: "websocket", "X-Rubric-Webhook-Id": webhook.id });
  // The object's 101 answer carries the socket; it is passed on untouched.
  return endpointObject(c.env, webhook.id).fetch(new Request(c.req.url, { headers })) as unknown as Response;
});
