/**
 * Rubric Webhooks SDK for TypeScript and JavaScript: ESM, no dependencies,
 * `fetch` and WebCrypto only (Node ≥ 18, Cloudflare Workers, Deno, browsers).
 */
export { Rubric, DEFAULT_BASE_URL, type RubricOptions } from "./client.js";
export {
  APIConnectionError,
  APIError,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RubricError,
  ValidationError,
  type FieldIssue,
} from "./errors.js";
export type { RequestOptions } from "./http.js";
export { Paginator, type ListParams, type Page } from "./pagination.js";
export { DeliveryFollower, type DeliveryPageQuery, type FollowParams } from "./follow.js";
export type { DeliveryListParams, DisableParams, WebhookListParams, PreviewParams, RetryFailedParams, RotateSecretParams, StatsParams, TestParams } from "./resources/webhooks.js";
export type { EventListParams, ReplayParams } from "./resources/events.js";
export { verifyWebhook, WebhookVerificationError, type HeadersLike, type VerifyOptions, type WebhookEvent, type WebhookVerificationReason } from "./verify.js";
export type * from "./wire.js";
