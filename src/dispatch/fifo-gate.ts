/**
 * An endpoint object's side of the FIFO fence (fifo-fence.ts holds the D1
 * reads): it remembers the latest event attempted here, the fence's lower
 * bound, so a check reads only the events since then, and how long a blocked
 * queue waits before it looks again.
 */
import type { Db } from "../db/client";
import type { WebhookForDispatch } from "../db/delivery-queries";
import { eventOf, idFloor } from "../lib/ids";
import type { Trigger } from "./endpoint-queue";
import { clearedUpTo, FENCE_FIRST_RECHECK_MS, FENCE_MAX_RECHECK_MS, lastAttemptedEventId } from "./fifo-fence";

/** The FIFO fence as one endpoint's object applies it. */
export class FifoGate {
  /** The event of the latest delivery attempted here; undefined until read from D1. */
  private lastEvent: string | null | undefined = undefined;
  /** How long a fenced queue waits before it looks again (doubles while blocked). */
  private wait = FENCE_FIRST_RECHECK_MS;

  constructor(private readonly recordsOf: (accountId: string) => Db) {}

  /**
   * How many of these deliveries, in order, may be sent now. Parallel mode and
   * manual retries are not fenced; `accounted` are events the caller holds
   * (pending in D1, but not missing).
   */
  async clearedCount(webhook: WebhookForDispatch | null, ids: string[], trigger: Trigger, accounted: Set<string>): Promise<number> {
    if (!webhook || webhook.ordering === "parallel" || trigger === "manual" || ids.length === 0) return ids.length;
    const db = this.recordsOf(webhook.accountId);
    this.lastEvent ??= await lastAttemptedEventId(db, webhook.id);
    const floor = idFloor("evt", webhook.createdAt);
    const from = this.lastEvent && this.lastEvent > floor ? this.lastEvent : floor;
    const eventIds = ids.map(eventOf);
    const upTo = eventIds.reduce((max, e) => (e > max ? e : max));
    if (upTo <= from) return ids.length;
    const cleared = await clearedUpTo(db, webhook.accountId, from, upTo, accounted);
    if (cleared === null) return ids.length;
    const blocked = eventIds.findIndex((e) => e > cleared);
    return blocked === -1 ? ids.length : blocked;
  }

  /** An attempt at this event starts: the fence's lower bound moves up to it (once known). */
  attempted(eventId: string): void {
    if (this.lastEvent !== undefined && (this.lastEvent === null || eventId > this.lastEvent)) this.lastEvent = eventId;
  }

  /** How long to wait before the next look at a blocked queue; each call while blocked doubles the next. */
  blocked(): number {
    const wait = this.wait;
    this.wait = Math.min(this.wait * 2, FENCE_MAX_RECHECK_MS);
    return wait;
  }

  /** The queue moved: the next block waits the shortest time again. */
  cleared(): void {
    this.wait = FENCE_FIRST_RECHECK_MS;
  }
}
