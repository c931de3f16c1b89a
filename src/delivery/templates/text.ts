/** Text helpers shared by the template filters and the chat formats' size limits. */

/**
 * The text a template value renders as. Missing values and `null` render as
 * nothing (never "undefined"); objects and arrays as their JSON, because
 * Liquid's own `[object Object]` or joined arrays help nobody reading a message.
 */
export function toText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "object") {
    try {
      return JSON.stringify(value) ?? "";
    } catch {
      // Payloads come from JSON, so this is unreachable in practice; never fail a render over it.
      return "";
    }
  }
  return "";
}

/**
 * Cuts `text` to at most `max` UTF-16 code units, the cut marked by `ellipsis`.
 * Code units are what the chat platforms' limits are safest counted in, and a
 * surrogate pair is never split in half.
 */
export function truncateText(text: string, max: number, ellipsis = "…"): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  if (ellipsis.length >= max) return ellipsis.slice(0, max);
  let head = text.slice(0, max - ellipsis.length);
  const last = head.charCodeAt(head.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1);
  return head + ellipsis;
}

/**
 * Escapes text for Slack mrkdwn: exactly the three characters Slack asks
 * to be escaped, so `<!channel>` or `<https://evil|docs>` in payload data
 * cannot become a mention or a disguised link.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Whether `value` is an absolute http(s) URL a chat platform will accept as a link. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Whether `value` is a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
