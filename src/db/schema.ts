/**
 * The D1 schema: the only place tables are described. drizzle-kit generates
 * `migrations/` from this file. Timestamps are integer milliseconds; JSON
 * columns hold text. Indexes are few on purpose: every index entry is a
 * billable row written on each insert.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    /** Encrypted with ENCRYPTION_KEY (see lib/secret-box.ts); never plaintext. */
    secret: text("secret").notNull(),
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>(),
    retryConfig: text("retry_config", { mode: "json" }).$type<Record<string, unknown>>(),
    ordering: text("ordering", { enum: ["fifo", "parallel"] }).notNull().default("fifo"),
    timeoutMs: integer("timeout_ms").notNull().default(10_000),
    format: text("format").notNull().default("json"),
    status: text("status", { enum: ["active", "disabled"] }).notNull().default("active"),
    disabledReason: text("disabled_reason"),
    description: text("description"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhooks_account").on(t.accountId, t.id)],
);

export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    type: text("type").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The producer's `data`, as JSON text. */
    data: text("data").notNull(),
    /** The producer's `metadata`, as JSON text. */
    metadata: text("metadata").notNull(),
    projectId: text("project_id"),
    severity: text("severity"),
    /** `pending` until fanned out to every matching webhook (the outbox flag). */
    status: text("status", { enum: ["pending", "dispatched"] }).notNull().default("pending"),
  },
  (t) => [
    index("events_account").on(t.accountId, t.id),
    // Only pending rows are in this index, so it costs a write on ingest and one on dispatch.
    index("events_pending").on(t.createdAt).where(sql`status = 'pending'`),
  ],
);

export const deliveries = sqliteTable(
  "deliveries",
  {
    /** Derived from (event id, webhook id): the primary key makes fan-out idempotent. */
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    eventId: text("event_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    responseCode: integer("response_code"),
    lastError: text("last_error"),
    nextAttemptAt: integer("next_attempt_at"),
    createdAt: integer("created_at").notNull(),
    completedAt: integer("completed_at"),
  },
  (t) => [index("deliveries_webhook").on(t.webhookId, t.id)],
);

export const deliveryAttempts = sqliteTable(
  "delivery_attempts",
  {
    deliveryId: text("delivery_id").notNull(),
    attempt: integer("attempt").notNull(),
    id: text("id").notNull(),
    startedAt: integer("started_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    responseCode: integer("response_code"),
    responseHeaders: text("response_headers", { mode: "json" }).$type<Record<string, string>>(),
    responseBody: text("response_body"),
    error: text("error"),
    trigger: text("trigger", { enum: ["scheduled", "manual", "test"] }).notNull(),
    nextAttemptAt: integer("next_attempt_at"),
  },
  // (delivery, attempt) is the key: a repeated attempt record is refused, and no extra index is needed.
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

