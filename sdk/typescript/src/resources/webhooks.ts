/** `client.webhooks`: endpoints, their delivery history, tests and secrets. */
import { send, type RequestOptions } from "../http.js";
import { DeliveryFollower, type FollowParams } from "../follow.js";
import { Paginator, type ListParams } from "../pagination.js";
import type { BodyOf, BodyPreview, CreatedWebhook, Delivery, DeletedWebhook, QueryOf, RetryFailedResult, RotatedSecret, TestResult, Webhook, WebhookSecret, WebhookStats } from "../wire.js";
import { Resource, idArgs, seg } from "./shared.js";

type WithId<P> = P & { webhook_id: string };
/** `webhooks.deliveries` filters: `status`, `event_type`, `since`, `until`, plus `limit` (total) and `cursor`. */
export type DeliveryListParams = Omit<NonNullable<QueryOf<"GET /v1/webhooks/{id}/deliveries">>, "limit" | "cursor"> & ListParams;
/** `webhooks.list` filters: `transport` (`listen`: only `rubric listen` webhooks), plus `limit` (total) and `cursor`. */
export type WebhookListParams = Omit<NonNullable<QueryOf<"GET /v1/webhooks">>, "limit" | "cursor"> & ListParams;
export type TestParams = BodyOf<"POST /v1/webhooks/{id}/test">;
export type RetryFailedParams = BodyOf<"POST /v1/webhooks/{id}/retry_failed">;
export type RotateSecretParams = BodyOf<"POST /v1/webhooks/{id}/rotate_secret">;
export type DisableParams = BodyOf<"POST /v1/webhooks/{id}/disable">;
export type StatsParams = NonNullable<QueryOf<"GET /v1/webhooks/{id}/stats">>;
export type PreviewParams = BodyOf<"POST /v1/webhooks/{id}/preview">;

const path = (id: string, tail = "") => `/v1/webhooks/${seg(id)}${tail}`;

export class Webhooks extends Resource {
  /** Creates a webhook; the answer carries its `secret` (shown only here). Not retried after a 5xx: a retry could create two. */
  async create(params: BodyOf<"POST /v1/webhooks">, options?: RequestOptions): Promise<CreatedWebhook> {
    return send(this.http, { method: "POST", path: "/v1/webhooks", body: params, idempotent: false, options });
  }

  /** One webhook (no secret). */
  async get(id: string, options?: RequestOptions): Promise<Webhook> {
    return send(this.http, { method: "GET", path: path(id), idempotent: true, options });
  }

  /** Every webhook (or those of one `transport`), oldest first, fetched page by page. */
  list(params: WebhookListParams = {}, options?: RequestOptions): Paginator<Webhook> {
    const { limit, cursor, ...filters } = params;
    return new Paginator((page) => send(this.http, { method: "GET", path: "/v1/webhooks", query: { ...filters, ...page }, idempotent: true, options }), { limit, cursor });
  }

  /** The secret that signs now (needs `webhooks:write`: it lets one sign as the service). */
  async secret(id: string, options?: RequestOptions): Promise<WebhookSecret> {
    return send(this.http, { method: "GET", path: path(id, "/secret"), idempotent: true, options });
  }

  /** Changes any field (`null` clears an optional one). */
  async update(id: string, params: BodyOf<"PATCH /v1/webhooks/{id}">, options?: RequestOptions): Promise<Webhook> {
    return send(this.http, { method: "PATCH", path: path(id), body: params, idempotent: true, options });
  }

  /** Deletes a webhook; deliveries still waiting are cancelled. */
  async delete(id: string, options?: RequestOptions): Promise<DeletedWebhook> {
    return send(this.http, { method: "DELETE", path: path(id), idempotent: true, options });
  }

  /** Stops routing new events to it; what it holds waits. */
  async disable(id: string, params: DisableParams = {}, options?: RequestOptions): Promise<Webhook> {
    return send(this.http, { method: "POST", path: path(id, "/disable"), body: params, idempotent: true, options });
  }

  /** Routes events again and sends what it held, in order. */
  async enable(id: string, options?: RequestOptions): Promise<Webhook> {
    return send(this.http, { method: "POST", path: path(id, "/enable"), body: {}, idempotent: true, options });
  }

  /** Sends a real test event now and reports how the endpoint answered. Not retried after a 5xx (it would send twice). */
  test(id: string, params: TestParams, options?: RequestOptions): Promise<TestResult>;
  test(params: WithId<TestParams>, options?: RequestOptions): Promise<TestResult>;
  async test(a: string | WithId<TestParams>, b?: TestParams | RequestOptions, c?: RequestOptions): Promise<TestResult> {
    const [id, body, options] = idArgs<TestParams>(a, b, c);
    return send(this.http, { method: "POST", path: path(id, "/test"), body, idempotent: false, options });
  }

  /** Delivery history in event order; `limit` caps the total, pages are fetched as needed. */
  deliveries(id: string, params?: DeliveryListParams, options?: RequestOptions): Paginator<Delivery>;
  deliveries(params: WithId<DeliveryListParams>, options?: RequestOptions): Paginator<Delivery>;
  deliveries(a: string | WithId<DeliveryListParams>, b?: DeliveryListParams | RequestOptions, c?: RequestOptions): Paginator<Delivery> {
    const [id, params, options] = idArgs<DeliveryListParams>(a, b, c);
    const { limit, cursor, ...filters } = params;
    return new Paginator(
      (page) => send(this.http, { method: "GET", path: path(id, "/deliveries"), query: { ...filters, ...page }, idempotent: true, options }),
      { limit, cursor },
    );
  }

  /**
   * Follows the webhook's deliveries as attempts are made: `poll()` (or `for await`, every
   * `intervalMs` until `signal` aborts) answers each delivery whose attempt count or status
   * changed, as `deliveries` lists it. Each poll pages through the deliveries of events made
   * in the last `windowMs` (default 1 h); see {@link DeliveryFollower}.
   */
  followDeliveries(id: string, params: FollowParams = {}, options?: RequestOptions): DeliveryFollower {
    seg(id);
    const callOptions = params.signal ? { ...options, signal: params.signal } : options;
    return new DeliveryFollower(
      (query) => send(this.http, { method: "GET", path: path(id, "/deliveries"), query, idempotent: true, options: callOptions }),
      params,
    );
  }

  /** Re-sends every failed delivery of events made in `[since, until)`. Calling again while they are in flight adds nothing, so it is retried. */
  retryFailed(id: string, params: RetryFailedParams, options?: RequestOptions): Promise<RetryFailedResult>;
  retryFailed(params: WithId<RetryFailedParams>, options?: RequestOptions): Promise<RetryFailedResult>;
  async retryFailed(a: string | WithId<RetryFailedParams>, b?: RetryFailedParams | RequestOptions, c?: RequestOptions): Promise<RetryFailedResult> {
    const [id, body, options] = idArgs<RetryFailedParams>(a, b, c);
    return send(this.http, { method: "POST", path: path(id, "/retry_failed"), body, idempotent: true, options });
  }

  /**
   * A new signing secret; the old one keeps signing `webhook-signature` for the grace period.
   * Retried after a 5xx only when `secret` is given (a generated one would differ on each try).
   */
  async rotateSecret(id: string, params: RotateSecretParams = {}, options?: RequestOptions): Promise<RotatedSecret> {
    return send(this.http, { method: "POST", path: path(id, "/rotate_secret"), body: params, idempotent: params.secret !== undefined, options });
  }

  /** Counts by status, success rate and latency over `window` (default 24h). */
  async stats(id: string, params: StatsParams = {}, options?: RequestOptions): Promise<WebhookStats> {
    return send(this.http, { method: "GET", path: path(id, "/stats"), query: params, idempotent: true, options });
  }

  /** The exact body this webhook would send for an event, without sending it. */
  async preview(id: string, params: PreviewParams, options?: RequestOptions): Promise<BodyPreview> {
    return send(this.http, { method: "POST", path: path(id, "/preview"), body: params, idempotent: true, options });
  }
}
