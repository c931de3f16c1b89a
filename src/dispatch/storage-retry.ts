/**
 * Storage errors that a moment's wait can cure, and what to do about them.
 * D1, Durable Object storage and the runtime between them fail now and then
 * in ways that say nothing about the request: a lock held for a moment, a
 * connection lost, an object restarting. Such an error is never a bug, so
 * the API answers it with 503 and `Retry-After` (app.ts), and the delivery
 * path repeats the call a few times ({@link withStorageRetry}) or leaves the
 * work where an alarm or the sweeper comes back for it. Anything else (a
 * constraint, a syntax error, a missing table) is a bug and surfaces as one.
 *
 * Two kinds: `transient` is repeated on the spot, briefly; `overloaded` is
 * not (Cloudflare: retrying an overloaded object or database worsens the
 * overload), only answered with a longer `Retry-After`.
 */
import { DrizzleQueryError } from "drizzle-orm";

export type StorageErrorKind = "transient" | "overloaded";

/** One recognised message: what it matches, where it comes from, and its kind. */
export interface StorageErrorPattern {
  pattern: RegExp;
  kind: StorageErrorKind;
  /** Which Cloudflare/D1/DO/SQLite message it is (quoted as documented), and why waiting cures it. */
  why: string;
}

/**
 * The recognised messages. Sources: D1's "List of D1_ERRORs" (developers.cloudflare.com/d1/observability/debug-d1,
 * every row whose recommended action is "Retry the operation"), D1's "Retry queries" page (its `shouldRetry`),
 * and the Durable Objects troubleshooting page ("Common errors"). Pinned with real messages in test/storage-retry.test.ts.
 */
export const STORAGE_ERROR_PATTERNS: readonly StorageErrorPattern[] = [
  {
    pattern: /SQLITE_BUSY|database is locked/i,
    kind: "transient",
    why: "SQLite's `SQLITE_BUSY` / `database is locked`: local D1 and Durable Object storage (workerd, wrangler dev) while another writer holds the file",
  },
  {
    pattern: /Network connection lost/i,
    kind: "transient",
    why: 'D1 "Network connection lost." (a network error; retry), also what a Worker sees when the connection to a Durable Object drops',
  },
  {
    pattern: /reset because its code was updated/i,
    kind: "transient",
    why: 'D1 "D1 DB reset because its code was updated." and DO "Durable Object reset because its code was updated.": the object restarts on new code; persisted state is intact',
  },
  {
    pattern: /storage caused object to be reset/i,
    kind: "transient",
    why: 'D1 "Internal error while starting up D1 DB storage caused object to be reset." and "Internal error in D1 DB storage caused object to be reset." (retry)',
  },
  {
    pattern: /transient issue on remote node/i,
    kind: "transient",
    why: 'D1 "Cannot resolve D1 DB due to transient issue on remote node." (the query cannot reach the database\'s object; retry)',
  },
  {
    pattern: /storage operation exceeded timeout/i,
    kind: "transient",
    why: 'D1 and DO "… storage operation exceeded timeout which caused object to be reset." (the object is reset; each try makes progress, so it is safe to retry)',
  },
  {
    pattern: /client disconnected/i,
    kind: "transient",
    why: 'D1 "Can\'t read from request stream because client disconnected." (the connection closed mid-query; retry)',
  },
  {
    pattern: /no longer active/i,
    kind: "transient",
    why: 'DO "Connection closed: this Durable Object instance is no longer active. Reconnect or retry the request." (a new instance takes the next call)',
  },
  {
    pattern: /internal error; reference =/i,
    kind: "transient",
    why: 'workerd\'s own "internal error; reference = …" for a failure inside the runtime, not in our code',
  },
  {
    pattern: /is overloaded/i,
    kind: "overloaded",
    why: 'D1 "D1 DB is overloaded. Too many requests queued." / "… Requests queued for too long." and DO "Durable Object is overloaded. …": shed load, send fewer requests',
  },
  {
    pattern: /back off and try again later/i,
    kind: "overloaded",
    why: 'DO "Your account is doing too many concurrent storage operations. Please back off and try again later." and "… generating too much load on Durable Objects. …"',
  },
];

/** Errors are followed through `cause` this deep (a D1 error inside drizzle's query error, inside an RPC error). */
const MAX_CAUSES = 5;

/**
 * The kind of a storage error that waiting can cure, or null for any other
 * error. Looks at the error and its causes: their messages, and the
 * `.overloaded` / `.retryable` flags Durable Object errors carry. Drizzle's own
 * "Failed query: … params: …" message is skipped (its params are user data,
 * which must not make a bug look transient); its cause is what D1 said.
 */
export function storageErrorKind(err: unknown): StorageErrorKind | null {
  let current: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSES && current != null; depth++) {
    const flags = typeof current === "object" ? (current as { overloaded?: unknown; retryable?: unknown }) : {};
    if (flags.overloaded === true) return "overloaded";
    if (!(current instanceof DrizzleQueryError)) {
      const message = current instanceof Error ? current.message : String(current);
      const found = STORAGE_ERROR_PATTERNS.find((p) => p.pattern.test(message));
      if (found) return found.kind;
      if (flags.retryable === true) return "transient";
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return null;
}

/** Whether an error is one that a moment's wait can cure (either kind). */
export function isTransientStorageError(err: unknown): boolean {
  return storageErrorKind(err) !== null;
}

/** Seconds a client is told to wait (`Retry-After`) after an error of this kind. */
export const RETRY_AFTER_SECONDS: Record<StorageErrorKind, number> = { transient: 1, overloaded: 5 };

/** Pauses between tries, ms: the last failure is thrown after them. */
export const STORAGE_RETRY_DELAYS_MS = [25, 100, 400] as const;

/**
 * Runs `call`, repeating it after a `transient` storage error (see
 * {@link STORAGE_RETRY_DELAYS_MS}); any other error, an overload included, is
 * thrown at once. Only for calls that may run twice (setAlarm, deleteAlarm,
 * writes keyed so a repeat is refused).
 */
export async function withStorageRetry<T>(call: () => Promise<T>, delays: readonly number[] = STORAGE_RETRY_DELAYS_MS): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= delays.length || storageErrorKind(err) !== "transient") throw err;
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
    }
  }
}
