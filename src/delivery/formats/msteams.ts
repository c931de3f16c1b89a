/**
 * Microsoft Teams messages: an Adaptive Card (1.4) attachment, the shape
 * Teams incoming webhooks and Workflows accept. Built-in templates are
 * cards; a rendered template may be a whole message, a card, a card's body
 * (an array) or plain text, and is wrapped accordingly.
 */
import { isHttpUrl, isPlainObject, toText } from "../templates/text";
import { EVENT_CONTENT, FOOTER, GENERIC_CONTENT, type EventContent, type Tone } from "./event-content";

/** The Adaptive Card schema URL cards declare. */
export const ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";

/** The attachment content type of an Adaptive Card. */
export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

/** The card version used: 1.4 is what Teams renders everywhere (desktop, web, mobile). */
export const ADAPTIVE_CARD_VERSION = "1.4";

/** Container style and text colour by tone; critical and danger use Teams' "attention" (red). */
const TONE_STYLES: Readonly<Record<Tone, { style: string; color: string }>> = Object.freeze({
  success: { style: "good", color: "Good" },
  info: { style: "accent", color: "Accent" },
  warning: { style: "warning", color: "Warning" },
  danger: { style: "attention", color: "Attention" },
  critical: { style: "attention", color: "Attention" },
  neutral: { style: "emphasis", color: "Default" },
});

/** The Teams template (an Adaptive Card) for one event type's content. */
function teamsTemplate(content: EventContent): Record<string, unknown> {
  const { emoji, title, subject, facts, detail, link, linkLabel, tone } = content;
  const { style, color } = TONE_STYLES[tone];
  const critical = tone === "critical";
  return {
    type: "AdaptiveCard",
    $schema: ADAPTIVE_CARD_SCHEMA,
    version: ADAPTIVE_CARD_VERSION,
    body: [
      {
        type: "Container",
        style,
        bleed: true,
        items: [
          { type: "TextBlock", text: `${emoji} ${title}`, size: critical ? "ExtraLarge" : "Large", weight: "Bolder", color, wrap: true },
          { type: "TextBlock", text: `{{ ${subject} }}`, weight: "Bolder", wrap: true, spacing: "Small" },
        ],
      },
      { type: "FactSet", facts: facts.map(([label, expression]) => ({ title: label, value: `{{ ${expression} | default: "—" }}` })) },
      ...(detail ? [{ type: "TextBlock", text: `{{ ${detail} }}`, wrap: true, ...(content.detailIsCode ? { fontType: "Monospace" } : {}) }] : []),
      { type: "TextBlock", text: FOOTER, isSubtle: true, size: "Small", wrap: true },
    ],
    actions: [{ type: "Action.OpenUrl", title: linkLabel, url: `{{ ${link} }}`, ...(critical ? { style: "destructive" } : {}) }],
    msteams: { width: "Full" },
  };
}

/** Built-in Teams templates (Adaptive Cards) by event type. */
export const MSTEAMS_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(Object.entries(EVENT_CONTENT).map(([type, content]) => [type, teamsTemplate(content)])),
);

/** The Teams template for event types without a built-in one. */
export const MSTEAMS_GENERIC: unknown = teamsTemplate(GENERIC_CONTENT);

/** Card elements without the ones that rendered empty (Teams shows them as blank gaps or refuses them). */
function tidyElements(elements: unknown[]): unknown[] {
  return elements.flatMap((element) => {
    if (!isPlainObject(element)) return [element];
    if (element.type === "TextBlock" && typeof element.text === "string" && element.text.trim() === "") return [];
    if (element.type === "FactSet" && Array.isArray(element.facts)) {
      const facts = element.facts.filter((f) => !isPlainObject(f) || toText(f.value).trim() !== "");
      return facts.length > 0 ? [{ ...element, facts }] : [];
    }
    if (element.type === "Container" && Array.isArray(element.items)) {
      const items = tidyElements(element.items);
      return items.length > 0 ? [{ ...element, items }] : [];
    }
    return [element];
  });
}

/** A card with empty elements removed and link actions without a URL dropped. */
function tidyCard(card: Record<string, unknown>): Record<string, unknown> {
  const tidy: Record<string, unknown> = { ...card };
  tidy.body = Array.isArray(card.body) ? tidyElements(card.body) : [];
  if (Array.isArray(card.actions)) {
    // A link whose URL rendered empty (no `data.url`) would make the card invalid.
    const actions = card.actions.filter((a) => !isPlainObject(a) || a.type !== "Action.OpenUrl" || isHttpUrl(a.url));
    if (actions.length > 0) tidy.actions = actions;
    else delete tidy.actions;
  }
  return tidy;
}

const attachment = (card: Record<string, unknown>) => ({ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: tidyCard(card) });

const newCard = (fields: Record<string, unknown>): Record<string, unknown> => ({
  type: "AdaptiveCard",
  $schema: ADAPTIVE_CARD_SCHEMA,
  version: ADAPTIVE_CARD_VERSION,
  ...fields,
});

/**
 * The Teams body for a rendered template: a message (`type: "message"`) is
 * kept, its cards tidied; a card is wrapped in a message; an array is a
 * card's body; any other object supplies card properties; text becomes a
 * TextBlock.
 */
export function toTeamsBody(rendered: unknown): Record<string, unknown> {
  if (isPlainObject(rendered) && rendered.type === "message") {
    const attachments = Array.isArray(rendered.attachments)
      ? rendered.attachments.map((a) =>
          isPlainObject(a) && a.contentType === ADAPTIVE_CARD_CONTENT_TYPE && isPlainObject(a.content) ? { ...a, ...attachment(a.content) } : a,
        )
      : rendered.attachments;
    return { ...rendered, attachments };
  }
  let card: Record<string, unknown>;
  if (Array.isArray(rendered)) card = newCard({ body: rendered });
  else if (isPlainObject(rendered)) card = newCard(rendered);
  else card = newCard({ body: [{ type: "TextBlock", text: toText(rendered), wrap: true }] });
  return { type: "message", attachments: [attachment(card)] };
}
