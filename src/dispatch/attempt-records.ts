/**
 * Attempt records of an endpoint's object, written to D1 in batches: a fast
 * endpoint's successes share one round trip instead of paying one each. What
 * is buffered when the process dies is lost, and each lost record is a
 * delivery sent again after the restart (at least once, never at most once),
 * so the buffer is bounded in size and in age.
 */
import type { Db } from "../db/client";
import { type AttemptOutcome, recordAttempts } from "../db/delivery-queries";
import { withStorageRetry } from "./storage-retry";

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
  /** Batches being written right now: not in D1 yet either. */
  private writing: Array<{ batch: AttemptOutcome[]; done: Promise<void> }> = [];

  constructor(private readonly recordsOf: (accountId: string) => Db) {}

  /** Every record not yet known to be in D1, oldest first. */
  private unconfirmed(): AttemptOutcome[] {
    return [...this.writing.flatMap((w) => w.batch), ...this.buffered];
  }

  /** Deliveries finished here whose record is not yet written (a second hand-over must not send them again). */
  unwritten(): Set<string> {
    return new Set(this.unconfirmed().map((r) => r.context.deliveryId));
  }

  /**
   * The latest record of this delivery not yet written (buffered, or being
   * written), if any. An attempt reads it before D1's: after a failed flush,
   * D1 does not know yet that the delivery succeeded (or is waiting for its
   * retry), and sending it again would be a second success of one delivery.
   */
  latest(deliveryId: string): AttemptOutcome | undefined {
    return this.unconfirmed().findLast((r) => r.context.deliveryId === deliveryId);
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

  /**
   * Writes the buffered records, repeating the batch after a transient D1
   * error (each record is keyed by delivery and attempt, so a repeat of a
   * batch that did commit writes nothing twice), and waits for batches other
   * calls are writing: once it resolves, every record added before it is in
   * D1. On failure the records stay buffered for the next flush rather than
   * lose the history, and {@link latest} keeps them from being sent again meanwhile.
   */
  async flush(): Promise<void> {
    const earlier = this.writing.map((w) => w.done);
    const batch = this.buffered;
    this.buffered = [];
    if (batch.length > 0) {
      const entry = { batch, done: withStorageRetry(() => writeRecords(this.recordsOf, batch)) };
      this.writing.push(entry);
      try {
        await entry.done;
      } catch (err) {
        this.buffered = batch.concat(this.buffered);
        throw err;
      } finally {
        this.writing = this.writing.filter((w) => w !== entry);
      }
    }
    // Another call's batch that failed is buffered again by that call; here it means "not all written".
    const failed = (await Promise.allSettled(earlier)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

/** Writes records, each to its account's database (an object's records are all one account's: one batch). */
async function writeRecords(recordsOf: (accountId: string) => Db, records: AttemptOutcome[]): Promise<void> {
  const byAccount = new Map<string, AttemptOutcome[]>();
  for (const r of records) byAccount.set(r.context.webhook.accountId, [...(byAccount.get(r.context.webhook.accountId) ?? []), r]);
  await Promise.all([...byAccount].map(([accountId, batch]) => recordAttempts(recordsOf(accountId), batch)));
}
