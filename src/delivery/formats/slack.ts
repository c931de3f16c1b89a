/**
 * Slack incoming-webhook messages (`{text, blocks}`): the built-in templates
 * and the limits Slack enforces, applied to every rendered Slack body so a
 * long value is cut instead of the whole message being refused.
 */
import { isHttpUrl, isPlainObject, toText, truncateText } from "../templates/text";
import { EVENT_CONTENT, FOOTER, GENERIC_CONTENT, type EventContent } from "./event-content";

/** Slack's Block Kit limits (characters and counts). */
export const SLACK_LIMITS = Object.freeze({
  text: 40_000,
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  actionElements: 25,
  buttonText: 75,
});

const mrkdwn = (text: string) => ({ type: "mrkdwn", text });

/** `{{ expression }}` escaped for mrkdwn: payload text must not become a mention or a link. */
const escaped = (expression: string) => `{{ ${expression} | escape }}`;

/** The Slack template for one event type's content. */
function slackTemplate(content: EventContent): Record<string, unknown> {
  const { emoji, title, subject, facts, detail, link, linkLabel } = content;
  const detailText = detail && (content.detailIsCode ? "```" + escaped(detail) + "```" : escaped(detail));
  const button = { type: "button", text: { type: "plain_text", text: linkLabel }, url: `{{ ${link} }}` };
  return {
    text: `${emoji} ${title}: ${escaped(subject)}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: `${emoji} ${title}`, emoji: true } },
      {
        type: "section",
        text: mrkdwn(`*${escaped(subject)}*`),
        fields: facts.map(([label, expression]) => mrkdwn(`*${label}*\n{{ ${expression} | default: "—" | escape }}`)),
      },
      ...(detailText ? [{ type: "section", text: mrkdwn(detailText) }] : []),
      { type: "actions", elements: [content.tone === "critical" ? { ...button, style: "danger" } : button] },
      { type: "context", elements: [mrkdwn(FOOTER)] },
    ],
  };
}

/** Built-in Slack templates by event type. */
export const SLACK_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(Object.entries(EVENT_CONTENT).map(([type, content]) => [type, slackTemplate(content)])),
);

/** The Slack template for event types without a built-in one. */
export const SLACK_GENERIC: unknown = slackTemplate(GENERIC_CONTENT);

/** A text object (`{type, text}`) cut to `max`, or null when its text is empty. */
function fitTextObject(value: unknown, max: number): Record<string, unknown> | null {
  if (!isPlainObject(value) || typeof value.text !== "string") return isPlainObject(value) ? value : null;
  if (value.text.trim() === "") return null;
  return { ...value, text: truncateText(value.text, max) };
}

/** One block within Slack's limits, or null when nothing is left to show (Slack refuses empty blocks). */
function fitBlock(block: unknown): unknown {
  if (!isPlainObject(block)) return block;
  switch (block.type) {
    case "header": {
      const text = fitTextObject(block.text, SLACK_LIMITS.headerText);
      return text ? { ...block, text } : null;
    }
    case "section": {
      const { text: _text, fields: _fields, ...rest } = block;
      const text = fitTextObject(block.text, SLACK_LIMITS.sectionText);
      const fields = Array.isArray(block.fields)
        ? block.fields.map((f) => fitTextObject(f, SLACK_LIMITS.fieldText)).filter((f) => f !== null).slice(0, SLACK_LIMITS.fields)
        : [];
      if (!text && fields.length === 0 && !block.accessory) return null;
      return { ...rest, ...(text ? { text } : {}), ...(fields.length > 0 ? { fields } : {}) };
    }
    case "context": {
      if (!Array.isArray(block.elements)) return block;
      const elements = block.elements
        .map((e) => (isPlainObject(e) && e.type === "image" ? e : fitTextObject(e, SLACK_LIMITS.sectionText)))
        .filter((e) => e !== null)
        .slice(0, SLACK_LIMITS.contextElements);
      return elements.length > 0 ? { ...block, elements } : null;
    }
    case "actions": {
      if (!Array.isArray(block.elements)) return block;
      const elements = block.elements
        // A link button whose URL rendered empty (no `data.url`) would make Slack refuse the message.
        .filter((e) => !isPlainObject(e) || !("url" in e) || isHttpUrl(e.url))
        .map((e) => (isPlainObject(e) && e.type === "button" ? { ...e, text: fitTextObject(e.text, SLACK_LIMITS.buttonText) ?? e.text } : e))
        .slice(0, SLACK_LIMITS.actionElements);
      return elements.length > 0 ? { ...block, elements } : null;
    }
    default:
      return block;
  }
}

/**
 * The Slack body for a rendered template: a string becomes `{text}`; an
 * object keeps its shape, with texts cut to Slack's limits and blocks that
 * rendered empty (a detail the event lacks, a button without a URL) removed.
 */
export function toSlackBody(rendered: unknown): Record<string, unknown> {
  if (!isPlainObject(rendered)) return { text: truncateText(toText(rendered), SLACK_LIMITS.text) };
  const body: Record<string, unknown> = { ...rendered };
  if (typeof body.text === "string") body.text = truncateText(body.text, SLACK_LIMITS.text);
  if (Array.isArray(body.blocks)) {
    const blocks = body.blocks.map(fitBlock).filter((b) => b !== null);
    // An empty `blocks` array is refused; without it Slack shows `text`.
    if (blocks.length > 0) body.blocks = blocks.slice(0, SLACK_LIMITS.blocks);
    else delete body.blocks;
  }
  return body;
}
