/**
 * Attempt packs (issue 16 part 6, cost). D1 bills every row written, and at
 * fan-out 10 the attempt row was $1.00 of the $1.40 a million deliveries
 * cost. Most attempts are first-try successes, and such a record never
 * changes (a later attempt, a manual resend, is a row of its own), so an
 * object's flush writes a run of them as one row of `attempt_packs`: a JSON
 * array of entries. Everything else (failures, retries, manual and test
 * sends, a run of one) stays one row of `delivery_attempts`.
 *
 * Reads go through the `all_attempts` view (both) or `packed_attempts` (the
 * entries), which have the table's columns plus the pack's range
 * (`pack_first`, `pack_last`). A pack's ids span at most {@link PACK_SPAN_MS}
 * of event time, so the packs that may hold a delivery are a bounded range of
 * the packs' key: {@link packRange} gives that condition, and every lookup
 * adds it (without it a lookup would unpack the webhook's whole history).
 */
import { and, eq, gte, inArray, lt, lte, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { idFloor, idTime } from "../lib/ids";
import type { deliveryAttempts } from "./schema";

/** The ids of one pack lie within this much event time of each other. */
export const PACK_SPAN_MS = 60_000;
/** A pack's entries take at most about this many bytes of JSON (one bound value, well inside D1's limits). */
export const PACK_MAX_BYTES = 64_000;

/** What an entry holds, in order (the `packed_attempts` view reads them by position). */
export const PACK_FIELDS = [
  "deliveryId",
  "id",
  "eventType",
  "startedAt",
  "durationMs",
  "requestHeaders",
  "responseCode",
  "responseHeaders",
  "responseBody",
  "traceParent",
] as const;

/** The values of one attempt row. */
export type AttemptValues = typeof deliveryAttempts.$inferInsert;

/** One row of `attempt_packs`. */
export interface PackRow {
  webhookId: string;
  lastId: string;
  id: string;
  firstId: string;
  accountId: string;
  n: number;
  items: string;
}

/** A first-try scheduled success: the one kind of attempt whose record goes into a pack (the view says so of every entry). */
export const isPackable = (v: AttemptValues): boolean =>
  v.attempt === 1 && v.status === "succeeded" && v.trigger === "scheduled" && v.nextAttemptAt == null && v.error == null;

const entryOf = (v: AttemptValues): string => JSON.stringify(PACK_FIELDS.map((f) => v[f] ?? null));

/**
 * Splits attempt rows into packs and the rows left for the table. Packs are
 * per webhook, in delivery order, cut where the span or the byte budget would
 * be exceeded; a pack of one would save nothing and stays a row.
 */
export function packAttempts(all: AttemptValues[]): { packs: PackRow[]; rows: AttemptValues[] } {
  const rows = all.filter((v) => !isPackable(v));
  const byWebhook = new Map<string, AttemptValues[]>();
  for (const v of all.filter(isPackable)) byWebhook.set(v.webhookId, [...(byWebhook.get(v.webhookId) ?? []), v]);
  const packs: PackRow[] = [];
  for (const run of byWebhook.values()) {
    const sorted = [...new Map(run.map((v) => [v.deliveryId, v])).values()].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : 1));
    let values: AttemptValues[] = [];
    let entries: string[] = [];
    let bytes = 2;
    const close = () => {
      if (values.length === 1) rows.push(values[0]!);
      else if (values.length > 1) packs.push(packRow(values, entries));
      values = [];
      entries = [];
      bytes = 2;
    };
    for (const v of sorted) {
      const entry = entryOf(v);
      const first = values[0];
      if (first && (idTime(v.deliveryId) - idTime(first.deliveryId) > PACK_SPAN_MS || bytes + entry.length > PACK_MAX_BYTES)) close();
      values.push(v);
      entries.push(entry);
      bytes += entry.length + 1;
    }
    close();
  }
  return { packs, rows };
}

function packRow(values: AttemptValues[], entries: string[]): PackRow {
  const first = values[0]!;
  return {
    webhookId: first.webhookId,
    lastId: values.at(-1)!.deliveryId,
    id: first.id,
    firstId: first.deliveryId,
    accountId: first.accountId,
    n: values.length,
    items: `[${entries.join(",")}]`,
  };
}

/** The key and range columns of `all_attempts` and `packed_attempts`. */
interface Ranged {
  webhookId: SQLiteColumn;
  deliveryId: SQLiteColumn;
  packFirst: SQLiteColumn;
  packLast: SQLiteColumn;
}

/** The largest pack end that may hold a delivery made at or before `id`'s time. */
export const lastPackEnd = (id: string): string => idFloor("dlv", idTime(id) + PACK_SPAN_MS + 1);

/**
 * The packs that may hold any delivery id between `lo` and `hi`: they end at
 * or after `lo`, start at or before `hi`, and (by the span) end before
 * {@link lastPackEnd}(hi). In the table's half of `all_attempts` this reads
 * `lo <= delivery_id <= hi`.
 */
export function packRange(v: Ranged, lo: string, hi: string): SQL {
  return and(gte(v.packLast, lo), lt(v.packLast, lastPackEnd(hi)), lte(v.packFirst, hi))!;
}

/** The attempts of a webhook's deliveries in `ids` (at least one): the ids, and the packs that may hold them. */
export function ofDeliveries(v: Ranged, webhookId: string, ids: string[]): SQL {
  const sorted = [...ids].sort();
  return and(eq(v.webhookId, webhookId), inArray(v.deliveryId, sorted), packRange(v, sorted[0]!, sorted.at(-1)!))!;
}

/** The attempts of deliveries at or after `floor`, reading only the packs that end there or later. */
export function fromDelivery(v: Ranged, floor: string): SQL {
  return and(gte(v.packLast, floor), gte(v.deliveryId, floor))!;
}
