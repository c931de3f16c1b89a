/**
 * Body formats of webhooks (`json`, `slack`, `discord`, `msteams`,
 * `template`): rendering a body for an event and the built-in chat messages.
 */
export { OUTPUT_FORMATS, CHAT_FORMATS, isOutputFormat, isChatFormat, type OutputFormat, type ChatFormat } from "./output-formats";
export { renderBody, previewBody, builtinTemplate, type BodyPreview, type TemplateSource } from "./render-body";
export { SLACK_LIMITS } from "./slack";
export { DISCORD_LIMITS, DISCORD_COLORS } from "./discord";
export { ADAPTIVE_CARD_SCHEMA, ADAPTIVE_CARD_CONTENT_TYPE, ADAPTIVE_CARD_VERSION } from "./msteams";
