/**
 * Attempt records of an endpoint's object, written to D1 in batches: a fast
 * endpoint's successes share one round trip instead of paying one each. What
 * is buffered when the process dies is lost, and each lost record is a
 * delivery sent again after the restart (at least once, never at most once),
 * so the buffer is bounded in size and in age.
 */
import type { Db } from "../db/client";
import { type AttemptOutcome, recordAttempts } from "../db/delivery-queries";

/** Records are written together, at most this many per round trip... */
export const RECORD_BATCH = 50;
/**
 * ...or once the oldest has waited this long: about a second of one
 * endpoint's successes at risk in a crash, while a fast endpoint still fills
 * whole batches.
 */
export const RECORD_MAX_WAIT_MS = 1_000;

/** The buffer of attempt records not yet in D1. */
export class AttemptRecords {
  private buffered: AttemptOutcome[] = [];

  constructor(private readonly db: Db) {}

  /** Deliveries finished here whose record is not yet written (a second hand-over must not send them again). */
  unwritten(): Set<string> {
    return new Set(this.buffered.map((r) => r.context.deliveryId));
  }

  /** Buffers a record until the next flush. */
  add(outcome: AttemptOutcome): void {
    this.buffered.push(outcome);
  }

  /** Whether the buffer is full, or its oldest record has waited long enough, so it must be written now. */
  due(now = Date.now()): boolean {
    const oldest = this.buffered[0]?.result;
    return !!oldest && (this.buffered.length >= RECORD_BATCH || now - oldest.startedAt - oldest.durationMs >= RECORD_MAX_WAIT_MS);
  }

  /** Writes the buffered records; on failure they stay buffered for the next flush rather than lose the history. */
  async flush(): Promise<void> {
    const batch = this.buffered;
    this.buffered = [];
    try {
      await recordAttempts(this.db, batch);
    } catch (err) {
      this.buffered = batch.concat(this.buffered);
      throw err;
    }
  }
}
