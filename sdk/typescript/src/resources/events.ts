/** `client.events`: the producer side — send events, read them back, replay them. */
import { send, type RequestOptions } from "../http.js";
import { Paginator, type ListParams } from "../pagination.js";
import type { BatchEvent, BatchResult, BodyOf, Event, EventWithDeliveries, QueryOf, ReplayResult } from "../wire.js";
import { webCrypto } from "../encoding.js";
import { Resource, seg } from "./shared.js";

/** `events.list` filters: `type`, `status`, `since`, `until`, plus `limit` (total) and `cursor`. */
export type EventListParams = Omit<NonNullable<QueryOf<"GET /v1/events">>, "limit" | "cursor"> & ListParams;
export type ReplayParams = BodyOf<"POST /v1/events/{id}/replay">;

/** A random idempotency key (a v4 UUID from WebCrypto). */
const newKey = async () => (await webCrypto()).randomUUID();

export class Events extends Resource {
  /**
   * Sends one event (202: stored and queued). Always carries an `Idempotency-Key`
   * (`options.idempotencyKey`, or a random one shared by every retry of this call),
   * so a retry after a lost answer returns the first event instead of making a second.
   */
  async send(params: BodyOf<"POST /v1/events">, options: RequestOptions = {}): Promise<Event> {
    const key = options.idempotencyKey ?? (await newKey());
    return send(this.http, {
      method: "POST",
      path: "/v1/events",
      body: params,
      headers: { "Idempotency-Key": key },
      idempotent: true,
      options,
    });
  }

  /**
   * Sends up to 100 events at once (validated all or nothing). Items without an
   * `idempotency_key` get a random one, so the batch can be retried safely.
   */
  async sendBatch(events: BatchEvent[], options?: RequestOptions): Promise<BatchResult> {
    const body = { events: await Promise.all(events.map(async (e) => (e.idempotency_key ? e : { ...e, idempotency_key: await newKey() }))) };
    return send(this.http, { method: "POST", path: "/v1/events/batch", body, idempotent: true, options });
  }

  /** One event and its deliveries. */
  async get(id: string, options?: RequestOptions): Promise<EventWithDeliveries> {
    return send(this.http, { method: "GET", path: `/v1/events/${seg(id)}`, idempotent: true, options });
  }

  /** Events, newest first, fetched page by page. */
  list(params: EventListParams = {}, options?: RequestOptions): Paginator<Event> {
    const { limit, cursor, ...filters } = params;
    return new Paginator(
      (page) => send(this.http, { method: "GET", path: "/v1/events", query: { ...filters, ...page }, idempotent: true, options }),
      { limit, cursor },
    );
  }

  /** Delivers an event again: to `webhook_id`, or to every active webhook it matches. Not retried after a 5xx. */
  async replay(id: string, params: ReplayParams = {}, options?: RequestOptions): Promise<ReplayResult> {
    return send(this.http, { method: "POST", path: `/v1/events/${seg(id)}/replay`, body: params, idempotent: false, options });
  }
}
