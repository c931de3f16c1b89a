/**
 * Durable Object storage calls that fail for a moment: local SQLite answers
 * `SQLITE_BUSY: database is locked` while another writer holds it, and an
 * alarm that is not set is a delivery nobody comes back for. Such calls are
 * repeated a few times, briefly, before the error is let through.
 */

/** Pauses between tries, ms: the last failure is thrown after them. */
export const STORAGE_RETRY_DELAYS_MS = [25, 100, 400] as const;

/** Whether an error is one that a moment's wait can cure. */
export function isTransientStorageError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /SQLITE_BUSY|database is locked|internal error|Network connection lost|overloaded/i.test(message);
}

/** Runs `call`, repeating it after a transient storage error (see {@link STORAGE_RETRY_DELAYS_MS}). */
export async function withStorageRetry<T>(call: () => Promise<T>, delays: readonly number[] = STORAGE_RETRY_DELAYS_MS): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= delays.length || !isTransientStorageError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
    }
  }
}
