/**
 * The D1 schema: the only place tables are described. drizzle-kit generates
 * `migrations/` from this file. Timestamps are integer milliseconds; JSON
 * columns hold text (an event's long `data` and `metadata` are deflated:
 * db/packed-text.ts). Indexes are few on purpose: every index entry is a
 * billable row written on each insert.
 */
import type { StoredRequestHeaders } from "../lib/attempt-storage";
import { COUNTER_NAMES, type CounterName } from "../lib/counter-names";
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, sqliteView, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { packedText } from "./packed-text";

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  status: text("status", { enum: ["active", "disabled"] }).notNull().default("active"),
  createdAt: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    name: text("name").notNull().default("default"),
    /** SHA-256 of the whole key, hex. The key itself is never stored. */
    keyHash: text("key_hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    last4: text("last4").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_account").on(t.accountId)],
);

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    name: text("name").notNull(),
    url: text("url").notNull(),
    /**
     * How deliveries travel: `http` (a signed POST to `url`) or `listen` (over the
     * WebSocket `rubric listen` holds on the endpoint's object; `url` is then the
     * local address the CLI forwards to, shown but never fetched by the service).
     */
    transport: text("transport", { enum: ["http", "listen"] }).notNull().default("http"),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    /** Encrypted with ENCRYPTION_KEY (see lib/secret-box.ts); never plaintext. */
    secret: text("secret").notNull(),
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>(),
    retryConfig: text("retry_config", { mode: "json" }).$type<Record<string, unknown>>(),
    ordering: text("ordering", { enum: ["fifo", "parallel"] }).notNull().default("fifo"),
    /** Parallel mode: at most this many attempts in flight at once (1–6). */
    maxInFlight: integer("max_in_flight").notNull().default(6),
    /** Attempts started per second at most (null: no limit); excess deliveries wait. */
    rateLimitPerSecond: integer("rate_limit_per_second"),
    timeoutMs: integer("timeout_ms").notNull().default(10_000),
    format: text("format").notNull().default("json"),
    /** Event type (or pattern) → template object, for formats other than `json`. */
    templates: text("templates", { mode: "json" }).$type<Record<string, unknown>>(),
    /** Extra outbound headers (never our signature or hop-by-hop headers). */
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>(),
    /** Secrets replaced by a rotation that still sign until they expire: [{secret (sealed), expires_at}]. */
    previousSecrets: text("previous_secrets", { mode: "json" }).$type<Array<{ secret: string; expires_at: number }>>(),
    status: text("status", { enum: ["active", "disabled"] }).notNull().default("active"),
    disabledReason: text("disabled_reason"),
    description: text("description"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhooks_account").on(t.accountId, t.id)],
);

/**
 * Events, keyed by (account, id). The table is `WITHOUT ROWID` (added to the
 * migration by hand: drizzle-kit cannot say it), so an insert writes exactly
 * one row: the key is the table, and no other index exists. The sweeper finds
 * pending events by scanning each account's recent ids (ids are time-ordered).
 */
export const events = sqliteTable(
  "events",
  {
    accountId: text("account_id").notNull(),
    id: text("id").notNull(),
    type: text("type").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The producer's `data`, as JSON text (stored deflated when long: db/packed-text.ts). */
    data: packedText("data").notNull(),
    /** The producer's `metadata`, as JSON text (stored deflated when long). */
    metadata: packedText("metadata").notNull(),
    projectId: text("project_id"),
    severity: text("severity"),
    /**
     * Stored `pending`; fan-out does not update it (a dispatch receipt says so: db/dispatch-receipts.ts).
     * `dispatched` on rows from before receipts and on replayed dead letters.
     */
    status: text("status", { enum: ["pending", "dispatched", "dead_lettered"] }).notNull().default("pending"),
    /** The producer's Idempotency-Key; only keyed events pay for the index below. */
    idempotencyKey: text("idempotency_key"),
    /**
     * W3C `traceparent` the event's deliveries continue (lib/trace-context.ts): the producer's,
     * or one the service started. Null only on rows from before trace context.
     */
    traceParent: text("trace_parent"),
    /** The producer's `tracestate`, kept when it and `traceparent` were valid; sent on every delivery. */
    traceState: text("trace_state"),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.id] }),
    uniqueIndex("events_idempotency").on(t.accountId, t.idempotencyKey).where(sql`idempotency_key IS NOT NULL`),
  ],
);

/** One stored event as read back; shared by both ingest paths (routes/ingest.ts, routes/ingest-fast.ts). */
export type EventRow = typeof events.$inferSelect;

/**
 * Dispatch receipts (db/dispatch-receipts.ts): one row per fan-out per shard
 * naming the events it handed over, instead of a row written per event.
 * `WITHOUT ROWID` (added by hand to the migration): the key is the table.
 */
export const dispatchReceipts = sqliteTable(
  "dispatch_receipts",
  {
    /** The largest event id named. */
    lastId: text("last_id").notNull(),
    /** Tells apart two fan-outs of the same ids. */
    nonce: text("nonce").notNull(),
    /** The smallest event id named. */
    firstId: text("first_id").notNull(),
    /** The event ids handed over, a JSON array, sorted. */
    eventIds: text("event_ids").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.lastId, t.nonce] })],
);

/** An account's own event types, with an optional JSON schema for `data`. */
export const eventTypes = sqliteTable(
  "event_types",
  {
    accountId: text("account_id").notNull(),
    name: text("name").notNull(),
    id: text("id").notNull(),
    description: text("description").notNull(),
    schema: text("schema", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.name] })],
);

/** The columns of one attempt, in the table and in the views that read packs with it. */
const attemptColumns = () => ({
    webhookId: text("webhook_id").notNull(),
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    id: text("id").notNull(),
    accountId: text("account_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The delivery's state after this attempt. */
    status: text("status", { enum: ["succeeded", "retrying", "failed", "cancelled"] }).notNull(),
    trigger: text("trigger", { enum: ["scheduled", "manual", "test"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    /** What was sent: compact (the signatures and extra headers; the rest is rebuilt on read) or in full. See lib/attempt-storage.ts. */
    requestHeaders: text("request_headers", { mode: "json" }).$type<StoredRequestHeaders>(),
    responseCode: integer("response_code"),
    /** The response's headers, less framing and browser-only ones, within a byte budget (lib/attempt-storage.ts). */
    responseHeaders: text("response_headers", { mode: "json" }).$type<Record<string, string>>(),
    /** An excerpt: 256 bytes of a 2xx, 4 KiB otherwise. */
    responseBody: text("response_body"),
    error: text("error"),
    nextAttemptAt: integer("next_attempt_at"),
    /** The `traceparent` this attempt sent: the event's trace id, a span id of its own. Null when nothing was sent. */
    traceParent: text("trace_parent"),
});

/**
 * Delivery attempts. A delivery (one event to one webhook) is the sequence of
 * its attempts, and its state is the latest attempt's `status`; there is no
 * separate delivery row to insert and update, so a first-try success writes
 * at most one row in all (usually a share of one: `attemptPacks` below).
 * Keyed by (webhook, delivery, attempt), `WITHOUT ROWID`:
 * a webhook's history is a range of the key, and delivery ids embed the
 * webhook id, so one delivery is a range too.
 */
export const deliveryAttempts = sqliteTable(
  "delivery_attempts",
  attemptColumns(),
  (t) => [
    primaryKey({ columns: [t.webhookId, t.deliveryId, t.attempt] }),
    // The sweeper finds retries that are overdue (their object lost them). Partial: a
    // first-try success writes no index entry, only attempts that schedule a retry do.
    index("attempts_retry_due").on(t.nextAttemptAt).where(sql`${t.status} = 'retrying'`),
  ],
);

/**
 * Attempt packs (db/attempt-packs.ts): a first-try success is the bulk of all
 * attempts and never changes, so an object's flush writes a run of them as
 * one row, a JSON array of entries, instead of a row each. Keyed by the
 * largest delivery id in it (with the first entry's attempt id to tell apart
 * two packs ending alike); the ids of one pack span at most
 * `PACK_SPAN_MS` of event time, which bounds every lookup to a key range.
 * `WITHOUT ROWID` (added by hand to the migration).
 */
export const attemptPacks = sqliteTable(
  "attempt_packs",
  {
    webhookId: text("webhook_id").notNull(),
    /** The largest delivery id in the pack. */
    lastId: text("last_id").notNull(),
    /** The attempt id of the pack's first entry. */
    id: text("id").notNull(),
    /** The smallest delivery id in the pack. */
    firstId: text("first_id").notNull(),
    accountId: text("account_id").notNull(),
    /** How many entries. */
    n: integer("n").notNull(),
    /** The entries: JSON arrays in the order of `PACK_FIELDS` (db/attempt-packs.ts). */
    items: text("items").notNull(),
  },
  (t) => [primaryKey({ columns: [t.webhookId, t.lastId, t.id] })],
);

/** An attempt's columns and the range of the pack it is read from (the views below). */
const rangedAttemptColumns = () => ({
  ...attemptColumns(),
  packFirst: text("pack_first").notNull(),
  packLast: text("pack_last").notNull(),
});

/**
 * The attempts in packs, one row per entry, shaped like `delivery_attempts`
 * (a view; created by hand in the migration). `pack_first`/`pack_last` are
 * the pack's range: a query narrows by them to use the packs' key.
 */
export const packedAttempts = sqliteView("packed_attempts", rangedAttemptColumns()).existing();

/**
 * Every attempt: `delivery_attempts` and the packed ones (a view). In the
 * table's half `pack_first` = `pack_last` = `delivery_id`, so one condition on
 * them bounds both halves by their keys.
 */
export const allAttempts = sqliteView("all_attempts", rangedAttemptColumns()).existing();

/**
 * Usage counters per account (or `system`): billable operations, outcomes and
 * the attempt latency histogram. Written in batches by metrics/flush.ts, one
 * row per account per flush; `WITHOUT ROWID` (added to the migration).
 */
export const usageCounters = sqliteTable("usage_counters", {
  accountId: text("account_id").primaryKey(),
  ...Object.fromEntries(COUNTER_NAMES.map((name) => [name, integer(name).notNull().default(0)])),
} as { accountId: ReturnType<typeof text> } & Record<CounterName, ReturnType<typeof integer>>);

/**
 * Portal links: one-time URLs that open the dashboard for an account without
 * its API key (routes/portal-links.ts). The token is stored as SHA-256 only
 * and consumed on first open; the session it opens lasts until `expires_at`
 * and ends when the link is revoked. Each link has its own API key (scoped
 * down: read-only links get `webhooks:read` only), sealed with ENCRYPTION_KEY,
 * so the portal acts through the API exactly as a key would.
 */
export const portalLinks = sqliteTable(
  "portal_links",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    /** The link's own key (api_keys.id), revoked with the link. */
    keyId: text("key_id").notNull(),
    /** That key, sealed (lib/secret-box.ts); never plaintext. */
    sealedKey: text("sealed_key").notNull(),
    /** Null: every webhook of the account. */
    webhookIds: text("webhook_ids", { mode: "json" }).$type<string[]>(),
    readOnly: integer("read_only", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    consumedAt: integer("consumed_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("portal_links_account").on(t.accountId, t.id)],
);

/**
 * Where a scan that would otherwise read from the start carries on, by name.
 * `pending_events` (metrics/pending.ts): no pending event has a smaller id,
 * so counting them reads only each account's recent ids, with no status
 * index (which would add a row written to every event).
 */
export const scanMarks = sqliteTable("scan_marks", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});
