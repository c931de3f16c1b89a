/**
 * An endpoint object's alarm, its one way to come back later: for a retry
 * that is due, a queue the FIFO fence holds, counters waiting for their flush,
 * and as a lease while attempts are in flight (if the process dies mid-attempt,
 * the alarm brings them back). Storage calls here are repeated on a transient
 * failure (SQLITE_BUSY under load, see storage-retry.ts): an alarm not set is a
 * delivery nobody comes back for. When one still fails, the caller must leave
 * the work where something else comes back for it ({@link EndpointAlarm.willRun}
 * tells whether an alarm set earlier still will).
 */
import type { UsageMeter } from "../metrics/usage-meter";
import { liveAlarm } from "./alarm-liveness";
import { withStorageRetry } from "./storage-retry";

/** Attempts never take longer than this (the largest `timeout_ms` a webhook may have). */
const MAX_TIMEOUT_MS = 30_000;
/** The lease runs this much past the longest attempt; the inline path's left-over work also waits this long. */
export const LEASE_SLACK_MS = 5_000;
/** After an unexpected error (D1 unreachable, say) the queue is looked at again after this. */
export const ERROR_BACKOFF_MS = 5_000;

/** The object's alarm. */
export class EndpointAlarm {
  /** The alarm this instance last set (null: none, or deleted); memory only, so a new instance knows of none. */
  private setFor: number | null = null;
  /**
   * A time something besides the queue needs the alarm by (a listen webhook's
   * heartbeat check or expiry, listen-lifecycle.ts): going idle keeps it.
   */
  keepAt: number | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly usage: UsageMeter,
  ) {}

  /** Sets the alarm for `at`, replacing any other. */
  async set(at: number): Promise<void> {
    this.usage.add("do_alarms_set");
    await withStorageRetry(() => this.storage.setAlarm(at));
    this.setFor = at;
  }

  /** Makes sure an alarm runs by `at`: a live earlier one is kept, a later or dead one replaced. */
  async ensure(at: number): Promise<void> {
    const live = await liveAlarm(this.storage);
    if (live === null || live > at) await this.set(at);
  }

  /** Whether no alarm will run. */
  async isDead(): Promise<boolean> {
    return (await liveAlarm(this.storage)) === null;
  }

  /** The lease for a round of attempts starting `now`. */
  lease(now: number): Promise<void> {
    return this.set(now + MAX_TIMEOUT_MS + LEASE_SLACK_MS);
  }

  /** Looks again after an unexpected error. */
  backOff(): Promise<void> {
    return this.set(Date.now() + ERROR_BACKOFF_MS);
  }

  /** Nothing left in the queue to come back for: no alarm, unless counters wait for their flush or {@link keepAt} is set. */
  async idle(): Promise<void> {
    if (this.keepAt !== null && this.keepAt > Date.now()) await this.ensure(this.keepAt);
    else if (this.usage.empty) await this.clear();
  }

  /** Deletes the alarm. */
  async clear(): Promise<void> {
    await withStorageRetry(() => this.storage.deleteAlarm());
    this.setFor = null;
  }

  /**
   * Whether an alarm this instance set is still to run after `now`: then work
   * it holds is looked at again even if setting a newer alarm just failed.
   */
  willRun(now = Date.now()): boolean {
    return this.setFor !== null && this.setFor > now;
  }
}
