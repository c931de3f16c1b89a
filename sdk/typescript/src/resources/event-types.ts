/** `client.eventTypes`: the built-in types and the account's own. */
import { send, type RequestOptions } from "../http.js";
import { Paginator } from "../pagination.js";
import type { BodyOf, EventType } from "../wire.js";
import { Resource } from "./shared.js";

export class EventTypes extends Resource {
  /** Every event type the account can subscribe to (one page: the API does not paginate this list). */
  list(options?: RequestOptions): Paginator<EventType> {
    return new Paginator(() => send(this.http, { method: "GET", path: "/v1/event_types", idempotent: true, options }));
  }

  /** A custom event type; with a JSON `schema`, events of this type are validated at ingest. A second create of the same name is a 409. */
  async create(params: BodyOf<"POST /v1/event_types">, options?: RequestOptions): Promise<EventType> {
    return send(this.http, { method: "POST", path: "/v1/event_types", body: params, idempotent: false, options });
  }
}
