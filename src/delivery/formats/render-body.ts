/**
 * The body a webhook's `format` and `templates` make of an event. `json`
 * sends the envelope itself (renderEnvelope, byte for byte as stored), so
 * this module answers null for it; every other body is built as a value
 * and serialised with JSON.stringify, never concatenated as text.
 */
import { renderTemplateTree, type EventEnvelope } from "../templates/render-tree";
import { selectTemplate } from "../templates/select";
import { DISCORD_DEFAULTS, DISCORD_GENERIC, toDiscordBody } from "./discord";
import { MSTEAMS_DEFAULTS, MSTEAMS_GENERIC, toTeamsBody } from "./msteams";
import { isOutputFormat, type ChatFormat } from "./output-formats";
import { SLACK_DEFAULTS, SLACK_GENERIC, toSlackBody } from "./slack";

/** Built-in templates and body shaping of each chat format. */
const CHAT = {
  slack: { defaults: SLACK_DEFAULTS, generic: SLACK_GENERIC, toBody: toSlackBody },
  discord: { defaults: DISCORD_DEFAULTS, generic: DISCORD_GENERIC, toBody: toDiscordBody },
  msteams: { defaults: MSTEAMS_DEFAULTS, generic: MSTEAMS_GENERIC, toBody: toTeamsBody },
} as const satisfies Record<ChatFormat, unknown>;

/** Where the template of a body came from. */
export type TemplateSource = "custom" | "builtin" | "generic" | "envelope";

/** A rendered body, as data, with where its template came from. */
export interface BodyPreview {
  /** The body as a value; for `envelope` the event envelope itself. */
  body: unknown;
  source: TemplateSource;
  /** The `templates` key used (for `custom`), else null. */
  template_key: string | null;
}

/**
 * The built-in template of a chat format for an event type (the generic one
 * for types without their own), as a copy. Useful to show customers a starting point.
 */
export function builtinTemplate(format: ChatFormat, type: string): unknown {
  const chat = CHAT[format];
  // A copy: the built-ins are shared by every render in the isolate and must not be edited.
  return structuredClone(Object.hasOwn(chat.defaults, type) ? chat.defaults[type] : chat.generic);
}

/**
 * Renders the body for an event as data. The template is the webhook's own
 * for the exact type, else its longest matching wildcard, else its `*`,
 * else (chat formats) the built-in one for the type, else the format's
 * generic one. `json`, and `template` without a matching template, send
 * the envelope. Throws a TemplateError when a template cannot be rendered,
 * and an Error for an unknown format (formats are validated before storage).
 */
export async function previewBody(format: string, templates: unknown, envelope: EventEnvelope): Promise<BodyPreview> {
  if (!isOutputFormat(format)) throw new Error(`unknown format "${format}"`);
  if (format === "json") return { body: envelope, source: "envelope", template_key: null };
  const chosen = selectTemplate(templates, envelope.type);
  if (format === "template") {
    if (!chosen) return { body: envelope, source: "envelope", template_key: null };
    return { body: renderTemplateTree(chosen.template, envelope, chosen.key), source: "custom", template_key: chosen.key };
  }
  const chat = CHAT[format];
  if (chosen) {
    return { body: chat.toBody(renderTemplateTree(chosen.template, envelope, chosen.key)), source: "custom", template_key: chosen.key };
  }
  const builtin = Object.hasOwn(chat.defaults, envelope.type);
  const template = builtin ? chat.defaults[envelope.type] : chat.generic;
  return {
    body: chat.toBody(renderTemplateTree(template, envelope, builtin ? envelope.type : "*")),
    source: builtin ? "builtin" : "generic",
    template_key: null,
  };
}

/**
 * The exact JSON text to send for an event, or null when the envelope is to
 * be sent as it is (`json`, or `template` with no template for the type).
 * Throws a TemplateError when a template cannot be rendered.
 */
export async function renderBody(format: string, templates: unknown, envelope: EventEnvelope): Promise<string | null> {
  const preview = await previewBody(format, templates, envelope);
  return preview.source === "envelope" ? null : JSON.stringify(preview.body);
}
