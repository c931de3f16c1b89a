/**
 * Which accepted events are still `pending` (not yet fanned out), without a
 * row written per event to say so.
 *
 * An event is stored `pending` and its status column is never updated when
 * it is fanned out: that update was a third D1 row written per event (a
 * dollar per million deliveries at fan-out 1). Instead, each fan-out writes
 * one **receipt** per shard: a row listing the ids it handed over. Receipts
 * are keyed by their last event id, so "receipts that may name an event in
 * [from, upTo]" is a short range of the key.
 *
 * The **floor** (`scan_marks.dispatch_floor`, moved forward by the shard's
 * sweeper, never back) says: no event below it is pending. So an event whose
 * column says `pending` is dispatched if it lies below the floor or a receipt
 * names it, and receipts wholly below the floor say nothing the floor does not
 * (retention deletes them). Every reader of the outbox state goes through
 * {@link isPending} / {@link isDispatched}; nothing else reads the column's
 * `pending`.
 */
import { and, eq, inArray, lt, sql, type SQL } from "drizzle-orm";
import { chunk, type Db } from "./client";
import { dispatchReceipts, events, scanMarks } from "./schema";

/** The scan mark below which no event is pending. */
export const DISPATCH_FLOOR = "dispatch_floor";

/** The floor, as a scalar subquery (the smallest id when none was set). */
const floorSql = sql`coalesce((SELECT ${scanMarks.value} FROM ${scanMarks} WHERE ${scanMarks.name} = ${DISPATCH_FLOOR}), 'evt_')`;

/**
 * Ids named by receipts that may cover events in [from, upTo]: a receipt
 * names ids between its first and last, so its last is ≥ from. `floored`:
 * only receipts reaching the floor (events below it need none).
 */
function receiptedIds(from: string, upTo: string | undefined, floored: boolean): SQL {
  const low = floored ? sql`max(${from}, ${floorSql})` : sql`${from}`;
  const high = upTo === undefined ? sql`` : sql` AND r.first_id <= ${upTo}`;
  return sql`SELECT j.value FROM ${dispatchReceipts} AS r, json_each(r.event_ids) AS j WHERE r.last_id >= ${low}${high}`;
}

/**
 * Events (read in [from, upTo]) still pending. `floored: false` skips the
 * floor: the consumer fans out what a message names even below it (an event
 * made by a Worker whose clock ran far behind), as it did before receipts.
 */
export function isPending(from: string, upTo?: string, { floored = true } = {}): SQL {
  const floor = floored ? sql` AND ${events.id} >= ${floorSql}` : sql``;
  return sql`(${events.status} = 'pending'${floor} AND ${events.id} NOT IN (${receiptedIds(from, upTo, floored)}))`;
}

/** Events (read in [from, upTo]) fanned out: marked so (before receipts, or by a replay), below the floor, or receipted. */
export function isDispatched(from: string, upTo?: string): SQL {
  return sql`(${events.status} = 'dispatched' OR (${events.status} = 'pending' AND (${events.id} < ${floorSql} OR ${events.id} IN (${receiptedIds(from, upTo, true)}))))`;
}

/** A short random suffix, so two fan-outs of the same ids write two receipts, not a conflict. */
const nonce = () => crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);

/** The receipt of one fan-out of `eventIds` (all on this database): one row, however many ids. */
export function receiptOf(db: Db, eventIds: string[], now = Date.now()) {
  const ids = [...eventIds].sort();
  return db.insert(dispatchReceipts).values({ lastId: ids.at(-1)!, nonce: nonce(), firstId: ids[0]!, eventIds: JSON.stringify(ids), createdAt: now });
}

/** Those of one account's `ids` still pending, in one read per 90 ids. */
export async function stillPending(db: Db, accountId: string, ids: string[], opts?: { floored?: boolean }): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunk([...ids].sort())) {
    const rows = await db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.accountId, accountId), inArray(events.id, part), isPending(part[0]!, part.at(-1)!, opts)));
    for (const r of rows) out.add(r.id);
  }
  return out;
}

/** One account's rows with the status the API shows: a stored `pending` resolved against receipts and the floor. */
export async function withOutboxStatus<R extends { id: string; status: "pending" | "dispatched" | "dead_lettered" }>(db: Db, accountId: string, rows: R[]): Promise<R[]> {
  const stored = rows.filter((r) => r.status === "pending").map((r) => r.id);
  if (stored.length === 0) return rows;
  const pending = await stillPending(db, accountId, stored);
  return rows.map((r) => (r.status === "pending" && !pending.has(r.id) ? { ...r, status: "dispatched" as const } : r));
}

/** The floor (the smallest id when none was set). */
export async function dispatchFloor(db: Db): Promise<string> {
  return (await db.get<{ v: string }>(sql`SELECT ${floorSql} AS v`))!.v;
}

/** Moves the floor up to `to` (never down: every floor written was true and stays true). */
export async function raiseFloor(db: Db, to: string): Promise<void> {
  await db
    .insert(scanMarks)
    .values({ name: DISPATCH_FLOOR, value: to })
    .onConflictDoUpdate({ target: scanMarks.name, set: { value: to }, setWhere: sql`${scanMarks.value} < excluded.value` });
}

/** Deletes up to `limit` receipts wholly below the floor (they say nothing it does not); returns how many. */
export async function dropReceiptsBelowFloor(db: Db, limit: number): Promise<number> {
  const r = dispatchReceipts;
  const below = db.select({ lastId: r.lastId }).from(r).where(lt(r.lastId, floorSql)).limit(limit);
  const res = await db.delete(r).where(inArray(r.lastId, below));
  return res.meta.changes ?? 0;
}
