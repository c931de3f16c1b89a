/** `client.deliveries`: one event's delivery to one webhook, with every attempt. */
import { send, type RequestOptions } from "../http.js";
import type { DeliveryWithAttempts, RetryResult } from "../wire.js";
import { Resource, seg } from "./shared.js";

export class Deliveries extends Resource {
  /** The delivery and its `attempt_log`. */
  async get(id: string, options?: RequestOptions): Promise<DeliveryWithAttempts> {
    return send(this.http, { method: "GET", path: `/v1/deliveries/${seg(id)}`, idempotent: true, options });
  }

  /** One manual attempt now. Not retried after a 5xx (it could attempt twice). */
  async retry(id: string, options?: RequestOptions): Promise<RetryResult> {
    return send(this.http, { method: "POST", path: `/v1/deliveries/${seg(id)}/retry`, idempotent: false, options });
  }
}
