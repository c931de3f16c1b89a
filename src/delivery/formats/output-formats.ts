/** The body formats a webhook can choose (`format` on the webhook). */

/** Every supported format; `json` (the seed's envelope) is the default. */
export const OUTPUT_FORMATS = ["json", "slack", "discord", "msteams", "template"] as const;

/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The formats that post to a chat product and have built-in messages for every event type. */
export const CHAT_FORMATS = ["slack", "discord", "msteams"] as const;

/** One of {@link CHAT_FORMATS}. */
export type ChatFormat = (typeof CHAT_FORMATS)[number];

/** Whether `value` names a supported format. */
export const isOutputFormat = (value: unknown): value is OutputFormat =>
  typeof value === "string" && (OUTPUT_FORMATS as readonly string[]).includes(value);

/** Whether `value` names a chat format. */
export const isChatFormat = (value: unknown): value is ChatFormat =>
  typeof value === "string" && (CHAT_FORMATS as readonly string[]).includes(value);
