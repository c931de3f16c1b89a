/**
 * Counting what a piece of work costs. A {@link UsageMeter} collects counters
 * per account; {@link meterD1} wraps the D1 binding so every statement's own
 * `meta` (rows read and written, as D1 reports and bills them) is counted.
 */
import type { CounterName } from "../lib/counter-names";
import { addCounters, type Counters } from "./counters";

export { meterD1 } from "../db/metered-d1";

/** Counts are attributed to an account, or to this id for work no account owns (sweeps, auth failures). */
export const SYSTEM_ACCOUNT = "system";

/** Counters per account, for one request, batch or object. */
export class UsageMeter {
  private readonly byAccount = new Map<string, Counters>();
  /** Where D1 rows are attributed while the owner is not known yet. */
  account = SYSTEM_ACCOUNT;

  /** Adds `n` to one counter of `account` (default: the current account). */
  add(name: CounterName, n = 1, account = this.account): void {
    if (!n) return;
    const counters = this.byAccount.get(account) ?? {};
    counters[name] = (counters[name] ?? 0) + n;
    this.byAccount.set(account, counters);
  }

  /** Adds a set of counters to `account`. */
  addAll(counters: Counters, account = this.account): void {
    const into = this.byAccount.get(account) ?? {};
    addCounters(into, counters);
    this.byAccount.set(account, into);
  }

  /** Moves everything counted into `other` and starts again from zero. */
  drainInto(other: UsageMeter): void {
    for (const [account, counters] of this.byAccount) other.addAll(counters, account);
    this.byAccount.clear();
  }

  /**
   * Moves what was counted under the current account to the accounts in
   * `weights`, in proportion (a batch that served several accounts).
   */
  spread(weights: Map<string, number>): void {
    const from = this.byAccount.get(this.account);
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    if (!from || total === 0) return;
    this.byAccount.delete(this.account);
    const heaviest = [...weights].sort((a, b) => b[1] - a[1])[0]![0];
    for (const [name, value] of Object.entries(from) as Array<[CounterName, number]>) {
      let given = 0;
      for (const [account, weight] of weights) {
        const share = Math.floor((value * weight) / total);
        this.add(name, share, account);
        given += share;
      }
      this.add(name, value - given, heaviest);
    }
  }

  /** Takes the counts out (for a flush), leaving the meter empty. */
  take(): Map<string, Counters> {
    const out = new Map(this.byAccount);
    this.byAccount.clear();
    return out;
  }

  /** Whether nothing has been counted since the last take. */
  get empty(): boolean {
    return this.byAccount.size === 0;
  }
}

/** Runs a SQL statement on a Durable Object's storage and counts its rows. */
export function meteredExec<T extends Record<string, SqlStorageValue>>(
  sql: SqlStorage,
  meter: UsageMeter,
  query: string,
  ...bindings: unknown[]
): T[] {
  const cursor = sql.exec<T>(query, ...bindings);
  const rows = cursor.toArray();
  meter.add("do_rows_read", cursor.rowsRead);
  meter.add("do_rows_written", cursor.rowsWritten);
  return rows;
}
