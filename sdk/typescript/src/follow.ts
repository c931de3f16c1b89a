/**
 * Following a webhook's deliveries as attempts are made (`rubric deliveries tail`).
 *
 * The API lists deliveries in event order and shows one only once it has been
 * attempted, with the state its latest attempt left. So a new attempt can
 * change any delivery in the list — a retry of an early event, or a first
 * attempt of an event older than the last one seen — and a cursor kept across
 * polls would skip it. Each poll therefore walks the whole window (events made
 * in the last `windowMs`) page by page with the API's cursors, and a delivery
 * is reported when its attempt count or status differs from what was last seen:
 * nothing twice, nothing within the window missed.
 */
import { MAX_PAGE_SIZE, type Page } from "./pagination.js";
import type { Delivery } from "./wire.js";

/** How a {@link DeliveryFollower} watches. */
export interface FollowParams {
  /** Watch deliveries of events made within this long before each poll (default 1 h). A retry of an older event's delivery is not seen. */
  windowMs?: number;
  /** Pause between polls when iterated (default 1 000 ms). */
  intervalMs?: number;
  /** Ends the iteration (and aborts the request in flight). */
  signal?: AbortSignal;
  /**
   * What counts as new on the first poll. Deliveries that finished at or after
   * this moment (epoch ms, default: when the follower was made) are reported;
   * the rest of the first poll is the baseline. Compared with the server's clock.
   */
  startedAt?: number;
  /** Report every delivery of the first poll too (default false). */
  includeExisting?: boolean;
  /** The clock (epoch ms); tests pass their own. */
  now?: () => number;
}

/** The API's query for one page of a webhook's deliveries. */
export type DeliveryPageQuery = { since: string; limit: number; cursor?: string };

interface Seen {
  attempts: number;
  status: Delivery["status"];
}

const DEFAULT_WINDOW_MS = 3_600_000;
const DEFAULT_INTERVAL_MS = 1_000;

/**
 * Remembers the deliveries of one webhook it has seen; `poll()` answers those
 * that gained an attempt (or changed status) since the previous poll. Iterating
 * it polls every `intervalMs` until `signal` aborts.
 */
export class DeliveryFollower implements AsyncIterable<Delivery> {
  /** Epoch ms from which a finished delivery counts as new on the first poll. */
  readonly startedAt: number;
  private seen = new Map<string, Seen>();
  private polled = false;
  private readonly now: () => number;

  /** @param fetchPage fetches one page of the webhook's deliveries for the query. */
  constructor(
    private readonly fetchPage: (query: DeliveryPageQuery) => Promise<Page<Delivery>>,
    private readonly params: FollowParams = {},
  ) {
    const windowMs = params.windowMs ?? DEFAULT_WINDOW_MS;
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`windowMs must be a positive number, got ${params.windowMs}`);
    this.now = params.now ?? Date.now;
    this.startedAt = params.startedAt ?? this.now();
  }

  /** One look: every delivery in the window whose attempts or status changed since the last look, in event order. */
  async poll(): Promise<Delivery[]> {
    const sinceMs = this.now() - (this.params.windowMs ?? DEFAULT_WINDOW_MS);
    const since = new Date(sinceMs).toISOString();
    const changed: Delivery[] = [];
    // Only what this poll listed is kept: what left the window is never listed again, so memory
    // stays bounded by the window (created_at is whole seconds, so it cannot decide this itself).
    const listed = new Map<string, Seen>();
    let cursor: string | undefined;
    do {
      const page = await this.fetchPage({ since, limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      for (const d of page.data) {
        const before = this.seen.get(d.id);
        listed.set(d.id, { attempts: d.attempts, status: d.status });
        if (before && before.attempts === d.attempts && before.status === d.status) continue;
        if (this.polled || this.params.includeExisting || this.finishedSinceStart(d)) changed.push(d);
      }
      cursor = page.next_cursor && page.data.length > 0 ? page.next_cursor : undefined;
    } while (cursor);
    this.seen = listed;
    this.polled = true;
    return changed;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery> {
    const { signal } = this.params;
    const intervalMs = this.params.intervalMs ?? DEFAULT_INTERVAL_MS;
    while (!signal?.aborted) {
      let batch: Delivery[];
      try {
        batch = await this.poll();
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      yield* batch;
      await pause(intervalMs, signal);
    }
  }

  private finishedSinceStart(d: Delivery): boolean {
    return d.completed_at !== null && Date.parse(d.completed_at) >= this.startedAt;
  }
}

/** Waits `ms`, or less if `signal` aborts (then resolves: stopping is not an error here). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
