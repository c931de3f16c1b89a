/**
 * Discord webhook messages (`{content, embeds}`): the built-in templates and
 * Discord's limits, applied to every rendered Discord body. Discord refuses
 * a message that breaks any limit, so texts are cut (with "…") to fit.
 */
import { isHttpUrl, isPlainObject, toText, truncateText } from "../templates/text";
import { EVENT_CONTENT, GENERIC_CONTENT, type EventContent, type Tone } from "./event-content";

/** Discord's message and embed limits (characters and counts). */
export const DISCORD_LIMITS = Object.freeze({
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  /** Title, description, field names and values, footer and author of all embeds together. */
  total: 6000,
});

/** Embed colours by tone; critical is the red the issue asks for. */
export const DISCORD_COLORS: Readonly<Record<Tone, number>> = Object.freeze({
  success: 0x2e7d32,
  info: 0x1976d2,
  warning: 0xf57c00,
  danger: 0xc62828,
  critical: 0xd32f2f,
  neutral: 0x607d8b,
});

/** The Discord template for one event type's content. */
function discordTemplate(content: EventContent): Record<string, unknown> {
  const { emoji, title, subject, facts, detail, link, tone } = content;
  const detailText = detail && (content.detailIsCode ? "```json\n{{ " + detail + " }}\n```" : `{{ ${detail} }}`);
  const heading = tone === "critical" ? `**${title}**` : title;
  return {
    content: `${emoji} ${heading}: {{ ${subject} }}`,
    embeds: [
      {
        title: `${emoji} ${title}`,
        description: `**{{ ${subject} }}**${detailText ? `\n\n${detailText}` : ""}`,
        url: `{{ ${link} }}`,
        color: DISCORD_COLORS[tone],
        fields: facts.map(([name, expression]) => ({ name, value: `{{ ${expression} | default: "—" }}`, inline: true })),
        footer: { text: "Rubric · {{ type }} · {{ id }}" },
        timestamp: "{{ created_at }}",
      },
    ],
    // Payload text such as "@everyone" must not ping a whole server.
    allowed_mentions: { parse: [] },
  };
}

/** Built-in Discord templates by event type. */
export const DISCORD_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(Object.entries(EVENT_CONTENT).map(([type, content]) => [type, discordTemplate(content)])),
);

/** The Discord template for event types without a built-in one. */
export const DISCORD_GENERIC: unknown = discordTemplate(GENERIC_CONTENT);

/** The embed properties that show something; an embed needs at least one. */
const EMBED_CONTENT = ["title", "description", "fields", "author", "footer", "image", "thumbnail", "video"];

/**
 * Embeds within Discord's limits. The 6000-character total is shared out in
 * reading order (title, description, fields, footer, author), so what is
 * cut is what comes last; fields with an empty name or value are dropped
 * because Discord refuses them.
 */
function fitEmbeds(embeds: unknown[]): unknown[] {
  let budget = DISCORD_LIMITS.total;
  const take = (text: string, max: number): string => {
    const fitted = truncateText(text, Math.min(max, budget));
    budget -= fitted.length;
    return fitted;
  };
  const fitText = (target: Record<string, unknown>, key: string, max: number): void => {
    if (typeof target[key] !== "string") return;
    const text = take(target[key], max);
    if (text.trim() === "") delete target[key];
    else target[key] = text;
  };
  const result = embeds.slice(0, DISCORD_LIMITS.embeds).map((value) => {
    if (!isPlainObject(value)) return value;
    const embed: Record<string, unknown> = { ...value };
    fitText(embed, "title", DISCORD_LIMITS.title);
    // A detail the event lacks leaves blank lines at the end; Discord would trim them anyway.
    if (typeof embed.description === "string") embed.description = embed.description.trimEnd();
    fitText(embed, "description", DISCORD_LIMITS.description);
    if (Array.isArray(embed.fields)) {
      const fields: Record<string, unknown>[] = [];
      for (const field of embed.fields.slice(0, DISCORD_LIMITS.fields)) {
        if (!isPlainObject(field)) continue;
        const name = toText(field.name);
        const text = toText(field.value);
        if (name.trim() === "" || text.trim() === "" || budget < 2) continue;
        // The name leaves at least one character of the budget for the value.
        const fittedName = truncateText(name, Math.min(DISCORD_LIMITS.fieldName, budget - 1));
        budget -= fittedName.length;
        fields.push({ ...field, name: fittedName, value: take(text, DISCORD_LIMITS.fieldValue) });
      }
      if (fields.length > 0) embed.fields = fields;
      else delete embed.fields;
    }
    for (const [key, textKey, max] of [
      ["footer", "text", DISCORD_LIMITS.footerText],
      ["author", "name", DISCORD_LIMITS.authorName],
    ] as const) {
      const part = embed[key];
      if (!isPlainObject(part)) continue;
      const fitted: Record<string, unknown> = { ...part };
      fitText(fitted, textKey, max);
      // Discord refuses a footer without text and an author without a name.
      if (textKey in fitted) embed[key] = fitted;
      else delete embed[key];
    }
    // A link or time that rendered empty (the event has no `data.url`) would make Discord refuse the message.
    if ("url" in embed && !isHttpUrl(embed.url)) delete embed.url;
    if ("timestamp" in embed && (typeof embed.timestamp !== "string" || Number.isNaN(Date.parse(embed.timestamp)))) {
      delete embed.timestamp;
    }
    return embed;
  });
  // An embed left with nothing to show (the budget ran out before it) is refused by Discord.
  return result.filter((embed) => !isPlainObject(embed) || EMBED_CONTENT.some((key) => key in embed));
}

/**
 * The Discord body for a rendered template: a string becomes `{content}`; an
 * object keeps its shape within Discord's limits. Mentions are disabled
 * unless the template sets `allowed_mentions` itself.
 */
export function toDiscordBody(rendered: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = isPlainObject(rendered) ? { ...rendered } : { content: toText(rendered) };
  if (typeof body.content === "string") body.content = truncateText(body.content, DISCORD_LIMITS.content);
  if (Array.isArray(body.embeds)) body.embeds = fitEmbeds(body.embeds);
  if (!("allowed_mentions" in body)) body.allowed_mentions = { parse: [] };
  return body;
}
