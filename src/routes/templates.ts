/** Previewing a template or a built-in format on an event, before any webhook uses it. */
import { createRoute, z } from "@hono/zod-openapi";
import { isoSeconds } from "../delivery/envelope";
import { OUTPUT_FORMATS, previewBody } from "../delivery/formats";
import { isTemplateError, validateTemplates } from "../delivery/templates";
import { validationFailed } from "../lib/errors";
import { apiKeyAuth } from "../middleware/auth";
import { errorResponses, JsonObject } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";
import { throwIfIssues } from "./webhook-rules";

/** The answer of every preview: the body that would be sent and where its template came from. */
export const PreviewSchema = z
  .object({ format: z.string(), body: z.unknown(), source: z.string(), template_key: z.string().nullable() })
  .openapi("BodyPreview");

/** Renders a preview; a template that fails at render time is the caller's 422, not our 500. */
export async function renderPreview(format: string, templates: unknown, envelope: Parameters<typeof previewBody>[2]) {
  try {
    return { format, ...(await previewBody(format, templates, envelope)) };
  } catch (err) {
    if (isTemplateError(err)) throw validationFailed([{ field: "templates", message: err.message }]);
    throw err;
  }
}

const previewTemplate = createRoute({
  method: "post",
  path: "/preview",
  summary: "Render a format (with an optional template) for an event, without a webhook and without sending",
  request: {
    body: {
      required: true,
      ...jsonContent(
        z
          .strictObject({
            format: z.enum(OUTPUT_FORMATS),
            template: z.unknown().optional(),
            event: z.strictObject({ type: z.string().min(1).max(100), data: JsonObject.default({}), metadata: JsonObject.default({}) }),
          })
          .openapi({
            example: {
              format: "slack",
              template: { text: "Evaluation completed: {{data.name}}" },
              event: { type: "evaluation.completed", data: { name: "Daily Evaluation - March 15" } },
            },
          }),
      ),
    },
  },
  responses: { 200: { description: "The body", ...jsonContent(PreviewSchema) }, ...errorResponses(400, 401, 415, 422) },
});

export const templatesRouter = createRouter();
templatesRouter.use("*", apiKeyAuth());
templatesRouter.openapi(previewTemplate, async (c) => {
  const { format, template, event } = c.req.valid("json");
  const templates = template === undefined ? undefined : { [event.type]: template };
  throwIfIssues(templates ? validateTemplates(format, templates, [event.type]) : []);
  const envelope = { id: "evt_preview", type: event.type, created_at: isoSeconds(Date.now()), data: event.data, metadata: event.metadata };
  return c.json(await renderPreview(format, templates, envelope), 200);
});
