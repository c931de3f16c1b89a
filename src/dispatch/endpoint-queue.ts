/**
 * An endpoint's stored queue: the deliveries its object could not finish
 * inline, in its own SQLite storage. Delivery ids sort in event order, so the
 * table's key is the FIFO order; `next_at` is when a delivery may be tried
 * (0: now). Every statement is metered (rows written cost money).
 */
import { meteredExec, type UsageMeter } from "../metrics/usage-meter";

export type Trigger = "scheduled" | "manual";

export interface QueueRow extends Record<string, SqlStorageValue> {
  delivery_id: string;
  next_at: number;
  trigger: string;
}

export class EndpointQueue {
  constructor(
    private readonly sql: SqlStorage,
    private readonly usage: UsageMeter,
  ) {}

  /** Creates the table if it is missing (a new object, or storage that was cleared). */
  create() {
    // WITHOUT ROWID: the key is the table, so storing a delivery writes one row, not two.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS queue (
      delivery_id TEXT PRIMARY KEY,
      next_at INTEGER NOT NULL DEFAULT 0,
      trigger TEXT NOT NULL DEFAULT 'scheduled'
    ) WITHOUT ROWID`);
  }

  /** Adds deliveries; one already stored keeps its row (and its time). */
  store(ids: string[], trigger: Trigger, nextAt = 0) {
    for (const id of ids) this.exec("INSERT OR IGNORE INTO queue (delivery_id, next_at, trigger) VALUES (?, ?, ?)", id, nextAt, trigger);
  }

  /** After an attempt at a stored delivery: drop it when finished, else set its next time. */
  settle(id: string, nextAt: number | null) {
    if (nextAt === null) this.exec("DELETE FROM queue WHERE delivery_id = ?", id);
    else this.exec("UPDATE queue SET next_at = ? WHERE delivery_id = ?", nextAt, id);
  }

  /**
   * The deliveries to send now, in delivery (= event) order. FIFO: only the
   * run of due deliveries at the head. Parallel: any that are due.
   */
  dueRows(fifo: boolean, now: number, limit: number): QueueRow[] {
    if (!fifo) return this.exec<QueueRow>("SELECT * FROM queue WHERE next_at <= ? ORDER BY delivery_id LIMIT ?", now, limit);
    const rows = this.exec<QueueRow>("SELECT * FROM queue ORDER BY delivery_id LIMIT ?", limit);
    const firstWaiting = rows.findIndex((r) => r.next_at > now);
    return firstWaiting === -1 ? rows : rows.slice(0, firstWaiting);
  }

  /** When the earliest stored delivery is due (null when the queue is empty). */
  nextDueAt(): number | null {
    return this.exec<{ at: number | null }>("SELECT min(next_at) AS at FROM queue")[0]?.at ?? null;
  }

  length(): number {
    return this.exec<{ n: number }>("SELECT count(*) AS n FROM queue")[0]!.n;
  }

  head(): QueueRow | null {
    return this.exec<QueueRow>("SELECT * FROM queue ORDER BY delivery_id LIMIT 1")[0] ?? null;
  }

  /** Every stored delivery id, in order. */
  ids(): string[] {
    return this.exec<QueueRow>("SELECT delivery_id FROM queue ORDER BY delivery_id").map((r) => r.delivery_id);
  }

  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    return meteredExec<T>(this.sql, this.usage, query, ...bindings);
  }
}
