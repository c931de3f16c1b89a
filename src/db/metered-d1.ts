/**
 * A D1 binding that counts what each statement cost: D1's own `meta` (rows
 * read and written, as D1 reports and bills them) and the statement itself.
 */
import type { CounterSink } from "../lib/counter-names";

const UNWRAP = Symbol("unwrap");

/** What a statement's result says it cost. */
type Meta = { rows_read?: number; rows_written?: number } | undefined;

/**
 * Counts one statement: its rows to the meter's account, and, when the
 * database has a `tag` (db/shards.ts: `db:shard_0`, `db:control`), the
 * statement and its rows to that tag too, so each database's own traffic can
 * be read back (metrics/snapshot.ts leaves tags out of the totals).
 */
function countMeta(meter: CounterSink, meta: Meta, tag: string | undefined) {
  meter.add("d1_rows_read", meta?.rows_read ?? 0);
  meter.add("d1_rows_written", meta?.rows_written ?? 0);
  meter.add("d1_queries");
  if (!tag) return;
  meter.add("d1_queries", 1, tag);
  meter.add("d1_rows_read", meta?.rows_read ?? 0, tag);
  meter.add("d1_rows_written", meta?.rows_written ?? 0, tag);
}

function meterStatement(stmt: D1PreparedStatement, meter: CounterSink, tag: string | undefined): D1PreparedStatement {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === UNWRAP) return target;
      if (prop === "bind") return (...values: unknown[]) => meterStatement(target.bind(...values), meter, tag);
      if (prop === "run" || prop === "all") {
        return async () => {
          const result = await target[prop]();
          countMeta(meter, result.meta, tag);
          return result;
        };
      }
      if (prop === "first") {
        return async (column?: string) => {
          const result = await target.all<Record<string, unknown>>();
          countMeta(meter, result.meta, tag);
          const row = result.results[0];
          return row == null ? null : column ? row[column] : row;
        };
      }
      if (prop === "raw") {
        // raw() answers without meta; the rows it returns are the best count of rows read available.
        return async (options?: { columnNames?: boolean }) => {
          const rows = await target.raw(options as { columnNames: true });
          countMeta(meter, { rows_read: Math.max(0, rows.length - (options?.columnNames ? 1 : 0)) }, tag);
          return rows;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The D1 binding, counting every statement's rows into `meter` (and, given a `tag`, the database's own traffic). */
export function meterD1(d1: D1Database, meter: CounterSink, tag?: string): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => meterStatement(target.prepare(query), meter, tag);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const unwrapped = statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[UNWRAP] ?? s);
          const results = await target.batch(unwrapped);
          for (const r of results) countMeta(meter, r.meta, tag);
          return results;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

