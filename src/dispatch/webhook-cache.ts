/**
 * An endpoint object's copy of its webhook's configuration. Read from D1 once
 * and kept between attempts (a busy endpoint would otherwise read it per
 * attempt); the API calls the object's `invalidate()` after every change, and
 * the copy is re-read after {@link WEBHOOK_CACHE_MS} in case a call was missed.
 */
import type { Db } from "../db/client";
import { loadWebhookForDispatch, type WebhookForDispatch } from "../db/delivery-queries";

/** The configuration is re-read after this long even without `invalidate()`. */
export const WEBHOOK_CACHE_MS = 30_000;

/** One webhook's configuration, cached. */
export class WebhookCache {
  private cached: { value: WebhookForDispatch | null; at: number } | null = null;

  constructor(private readonly control: Db) {}

  /** The webhook's configuration (null once deleted), from the cache while it is fresh. */
  async get(id: string): Promise<WebhookForDispatch | null> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > WEBHOOK_CACHE_MS || this.cached.value?.id !== id) {
      this.cached = { value: await loadWebhookForDispatch(this.control, id), at: now };
    }
    return this.cached.value;
  }

  /** Forgets the copy: the next `get` reads D1. */
  clear(): void {
    this.cached = null;
  }
}
