/**
 * Names for the wire types, all derived from the generated {@link Operations}
 * (the server's OpenAPI document), so a change on the server changes them here.
 * Fields stay snake_case, exactly as on the wire and in the seed.
 */
import type { Operations } from "./types.gen.js";

export type { Attempt, CreatedWebhook, CreateWebhook, Delivery, Event, EventType, Filters, RetryConfig, SendEvent, UpdateWebhook, Webhook } from "./types.gen.js";
export type { Operations };

type Op = keyof Operations;
/** The JSON body an operation takes. */
export type BodyOf<K extends Op> = Operations[K]["body"];
/** The query parameters an operation takes. */
export type QueryOf<K extends Op> = Operations[K]["query"];
/** What an operation answers on success. */
export type ResultOf<K extends Op> = Operations[K]["response"];
/** One item of a list operation's `data`. */
export type ItemOf<K extends Op> = ResultOf<K> extends { data: Array<infer T> } ? T : never;

/** The outcome of `webhooks.test`: `status`, `response_code`, `response_body`, … */
export type TestResult = ResultOf<"POST /v1/webhooks/{id}/test">;
/** The answer to `webhooks.delete`. */
export type DeletedWebhook = ResultOf<"DELETE /v1/webhooks/{id}">;
/** The answer to `webhooks.retryFailed`. */
export type RetryFailedResult = ResultOf<"POST /v1/webhooks/{id}/retry_failed">;
/** The answer to `webhooks.rotateSecret`, with the new secret. */
export type RotatedSecret = ResultOf<"POST /v1/webhooks/{id}/rotate_secret">;
export type WebhookSecret = ResultOf<"GET /v1/webhooks/{id}/secret">;
/** The answer to `webhooks.stats`. */
export type WebhookStats = ResultOf<"GET /v1/webhooks/{id}/stats">;
/** The answer to `webhooks.preview`: the exact body that would be sent. */
export type BodyPreview = ResultOf<"POST /v1/webhooks/{id}/preview">;
/** An event with its deliveries (`events.get`). */
export type EventWithDeliveries = ResultOf<"GET /v1/events/{id}">;
/** A delivery with every attempt (`deliveries.get`). */
export type DeliveryWithAttempts = ResultOf<"GET /v1/deliveries/{id}">;
/** Per-item results of `events.sendBatch`. */
export type BatchResult = ResultOf<"POST /v1/events/batch">;
/** One item of `events.sendBatch`. */
export type BatchEvent = BodyOf<"POST /v1/events/batch">["events"][number];
/** The answer to `events.replay`. */
export type ReplayResult = ResultOf<"POST /v1/events/{id}/replay">;
/** The answer to `deliveries.retry`. */
export type RetryResult = ResultOf<"POST /v1/deliveries/{id}/retry">;
