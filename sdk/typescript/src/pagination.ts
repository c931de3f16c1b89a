/**
 * Lists as async iterators: `for await (const wh of client.webhooks.list())`
 * follows `next_cursor` page by page, and stops after `limit` items in all
 * (as the seed's `deliveries(webhook_id, limit=100)` means it).
 */

/** One page as the API answers it. */
export interface Page<T> {
  data: T[];
  next_cursor?: string | null;
}

/** The API's largest page. */
export const MAX_PAGE_SIZE = 250;

/** Listing parameters the SDK reads: `limit` is the total to yield, `cursor` where to start. */
export interface ListParams {
  /** How many items to yield in all (default: every item). Pages are fetched as needed, at most 250 at a time. */
  limit?: number;
  /** Start after this cursor (a previous page's `next_cursor`). */
  cursor?: string;
}

/**
 * An async iterable over every item of a list, fetched lazily. Each
 * iteration starts again from the first page.
 */
export class Paginator<T> implements AsyncIterable<T> {
  /** @param fetchPage fetches one page given the query (`limit` = page size, `cursor`). */
  constructor(
    private readonly fetchPage: (query: { limit: number; cursor?: string }) => Promise<Page<T>>,
    private readonly params: ListParams = {},
  ) {
    if (params.limit !== undefined && !(Number.isInteger(params.limit) && params.limit >= 1)) {
      throw new RangeError(`limit must be a positive integer, got ${params.limit}`);
    }
  }

  /** Every page, each with at most as many items as are still wanted. */
  async *pages(): AsyncGenerator<Page<T>> {
    let remaining = this.params.limit ?? Infinity;
    let cursor = this.params.cursor;
    while (remaining > 0) {
      const page = await this.fetchPage({ limit: Math.min(remaining, MAX_PAGE_SIZE), ...(cursor ? { cursor } : {}) });
      const data = page.data.slice(0, Number.isFinite(remaining) ? remaining : undefined);
      remaining -= data.length;
      yield { data, next_cursor: page.next_cursor ?? null };
      if (!page.next_cursor || page.data.length === 0) return;
      cursor = page.next_cursor;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item (up to `limit`) in one array. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) out.push(item);
    return out;
  }
}
