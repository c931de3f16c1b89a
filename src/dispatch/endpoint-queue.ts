/**
 * An endpoint's stored queue: the deliveries its object could not finish
 * inline, in its own SQLite storage. Rows written cost money, so a row of
 * `queue_batches` holds a whole hand-over (a run of delivery ids): storing 50
 * deliveries and clearing them once sent writes 2 rows, not 100. A delivery
 * waiting for a retry has a row of its own in `queue_retries`, with its time;
 * while it is there, a copy of it in a batch is not sent.
 *
 * Delivery ids sort in event order, so the FIFO order is the merge of all
 * stored ids. Progress inside a batch is not written: the attempt records in
 * D1 tell which deliveries finished, and a round rewrites a batch once, at
 * its end.
 */
import { meteredExec, type UsageMeter } from "../metrics/usage-meter";

export type Trigger = "scheduled" | "manual";

interface BatchRow extends Record<string, SqlStorageValue> {
  first_id: string;
  /** Delivery ids in order, comma-separated. */
  ids: string;
  n: number;
  trigger: string;
}

interface RetryRow extends Record<string, SqlStorageValue> {
  delivery_id: string;
  next_at: number;
  trigger: string;
}

/** One round of work: deliveries to try now, in order, and the rows they came from. */
export interface Round {
  ids: string[];
  triggers: Map<string, Trigger>;
  batches: BatchRow[];
  /** The ids that came from retry rows. */
  retrying: Set<string>;
}

/** What became of a delivery in a round: finished (null), retry at (ms), or held (webhook disabled). */
export type Outcome = number | null | "hold";

/** A batch grows by joining up to this many deliveries (a round reads and rewrites whole rows). */
const MAX_BATCH = 500;
/** Rows of each table read per round. */
const ROWS_PER_ROUND = 50;
/** Bound parameters per statement (the storage API's limit is 100). */
const IN_CHUNK = 90;

const split = (row: BatchRow) => (row.ids === "" ? [] : row.ids.split(","));
const asTrigger = (t: string): Trigger => (t === "manual" ? "manual" : "scheduled");

export class EndpointQueue {
  constructor(
    private readonly sql: SqlStorage,
    private readonly usage: UsageMeter,
  ) {}

  /** Creates the tables if missing (a new object, or storage that was cleared). */
  create() {
    // WITHOUT ROWID: the key is the table, so a row costs one write, not two.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS queue_batches (
      first_id TEXT PRIMARY KEY,
      ids TEXT NOT NULL,
      n INTEGER NOT NULL,
      trigger TEXT NOT NULL DEFAULT 'scheduled'
    ) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS queue_retries (
      delivery_id TEXT PRIMARY KEY,
      next_at INTEGER NOT NULL,
      trigger TEXT NOT NULL DEFAULT 'scheduled'
    ) WITHOUT ROWID`);
    this.migrateOneRowPerDelivery();
  }

  /** Objects from before batches kept one row per delivery in `queue`: move them over once. */
  private migrateOneRowPerDelivery() {
    if (this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'queue'").toArray().length === 0) return;
    const rows = this.sql.exec<RetryRow>("SELECT delivery_id, next_at, trigger FROM queue").toArray();
    for (const r of rows) {
      if (r.next_at > 0) this.retryAt(r.delivery_id, r.next_at, asTrigger(r.trigger));
      else this.store([r.delivery_id], asTrigger(r.trigger));
    }
    this.sql.exec("DROP TABLE queue");
  }

  /**
   * Adds deliveries due now. They join the last batch when they all come
   * after its first id (one row rewritten instead of a new row to write and
   * later delete), or a batch with the same first id; otherwise they make a
   * batch of their own.
   */
  store(ids: string[], trigger: Trigger) {
    const sorted = [...new Set(ids)].sort();
    if (sorted.length === 0) return;
    const tail = this.exec<BatchRow>("SELECT * FROM queue_batches ORDER BY first_id DESC LIMIT 1")[0];
    const joinsTail = tail && tail.first_id <= sorted[0]! && tail.trigger === trigger && tail.n + sorted.length <= MAX_BATCH;
    const existing = joinsTail ? tail : this.exec<BatchRow>("SELECT * FROM queue_batches WHERE first_id = ?", sorted[0])[0];
    const merged = existing ? [...new Set([...split(existing), ...sorted])].sort() : sorted;
    const kept = existing?.trigger === "manual" ? "manual" : trigger;
    this.exec("INSERT OR REPLACE INTO queue_batches (first_id, ids, n, trigger) VALUES (?, ?, ?, ?)", merged[0], merged.join(","), merged.length, kept);
  }

  /** Schedules one delivery's retry (replacing any earlier time for it). */
  retryAt(id: string, nextAt: number, trigger: Trigger = "scheduled") {
    this.exec("INSERT OR REPLACE INTO queue_retries (delivery_id, next_at, trigger) VALUES (?, ?, ?)", id, nextAt, trigger);
  }

  /**
   * The deliveries to try now, at most `limit`, in delivery (= event) order;
   * null when nothing is due. FIFO: only what comes before the first delivery
   * still waiting for its retry, and before any batch not read this round.
   */
  round(fifo: boolean, now: number, limit: number): Round | null {
    const retries = fifo
      ? this.exec<RetryRow>("SELECT * FROM queue_retries ORDER BY delivery_id LIMIT ?", ROWS_PER_ROUND)
      : this.exec<RetryRow>("SELECT * FROM queue_retries WHERE next_at <= ? ORDER BY delivery_id LIMIT ?", now, ROWS_PER_ROUND);
    const batches = this.exec<BatchRow>("SELECT * FROM queue_batches ORDER BY first_id LIMIT ?", ROWS_PER_ROUND);
    const triggers = new Map<string, Trigger>();
    let boundary: string | null = null;
    for (const r of retries) {
      if (r.next_at > now) {
        boundary = r.delivery_id;
        break;
      }
      triggers.set(r.delivery_id, asTrigger(r.trigger));
    }
    if (!fifo) boundary = null;
    else if (retries.length === ROWS_PER_ROUND && boundary === null) boundary = retries.at(-1)!.delivery_id + "~";
    if (fifo && batches.length === ROWS_PER_ROUND) {
      const last = batches.at(-1)!.first_id;
      boundary = boundary === null || last < boundary ? last : boundary;
    }
    const fromBatches = batches.flatMap(split).filter((id) => !triggers.has(id));
    const waiting = this.waitingForRetry(fromBatches);
    for (const b of batches) {
      for (const id of split(b)) if (!waiting.has(id) && triggers.get(id) !== "manual") triggers.set(id, asTrigger(b.trigger));
    }
    const ids = [...triggers.keys()]
      .filter((id) => boundary === null || id < boundary)
      .sort()
      .slice(0, limit);
    const retrying = new Set(retries.map((r) => r.delivery_id).filter((id) => triggers.has(id)));
    return ids.length === 0 ? null : { ids, triggers, batches, retrying };
  }

  /**
   * Writes a round's outcome: finished deliveries leave their batches and
   * retries; failed ones get (or keep) a retry time; held ones stay. A batch
   * that did not change is not written.
   */
  settle(round: Round, outcomes: Map<string, Outcome>) {
    const done = (id: string) => outcomes.has(id) && outcomes.get(id) !== "hold";
    for (const read of round.batches) {
      // Read again: deliveries may have joined this batch while the round was being sent.
      const b = this.exec<BatchRow>("SELECT * FROM queue_batches WHERE first_id = ?", read.first_id)[0];
      if (!b) continue;
      const before = split(b);
      const left = before.filter((id) => !done(id));
      if (left.length === before.length) continue;
      this.exec("DELETE FROM queue_batches WHERE first_id = ?", b.first_id);
      if (left.length) this.store(left, asTrigger(b.trigger));
    }
    for (const [id, outcome] of outcomes) {
      if (outcome === null && round.retrying.has(id)) this.exec("DELETE FROM queue_retries WHERE delivery_id = ?", id);
      else if (typeof outcome === "number") this.retryAt(id, outcome, round.triggers.get(id));
    }
  }

  /**
   * When the next retry is due: FIFO, the first retry in delivery order (it
   * blocks what follows it); parallel, the earliest. Null when none waits.
   */
  nextRetryAt(fifo: boolean): number | null {
    const query = fifo ? "SELECT next_at AS at FROM queue_retries ORDER BY delivery_id LIMIT 1" : "SELECT min(next_at) AS at FROM queue_retries";
    return this.exec<{ at: number | null }>(query)[0]?.at ?? null;
  }

  /** How many distinct deliveries wait here. */
  length(): number {
    return this.ids().length;
  }

  isEmpty(): boolean {
    return this.headId() === null;
  }

  /** The first delivery id in FIFO order, if any. */
  headId(): string | null {
    const a = this.exec<{ id: string }>("SELECT first_id AS id FROM queue_batches ORDER BY first_id LIMIT 1")[0]?.id;
    const b = this.exec<{ id: string }>("SELECT delivery_id AS id FROM queue_retries ORDER BY delivery_id LIMIT 1")[0]?.id;
    return [a, b].filter((x): x is string => x !== undefined).sort()[0] ?? null;
  }

  /** Every stored delivery id, in order. */
  ids(): string[] {
    const batched = this.exec<BatchRow>("SELECT * FROM queue_batches").flatMap(split);
    const retrying = this.exec<RetryRow>("SELECT delivery_id FROM queue_retries").map((r) => r.delivery_id);
    return [...new Set([...batched, ...retrying])].sort();
  }

  /** Which of these ids have a retry row (their copies in batches must wait for it). */
  private waitingForRetry(ids: string[]): Set<string> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const part = ids.slice(i, i + IN_CHUNK);
      const rows = this.exec<RetryRow>(`SELECT delivery_id FROM queue_retries WHERE delivery_id IN (${part.map(() => "?").join(",")})`, ...part);
      for (const r of rows) found.add(r.delivery_id);
    }
    return found;
  }

  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    return meteredExec<T>(this.sql, this.usage, query, ...bindings);
  }
}
