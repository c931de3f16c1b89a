// Bytes a D1 row takes, two ways: the sum of its columns (what the schema stores) and what
// the database file grows by per copy of it (what counts against D1's 10 GB per database).
import { getTableColumns, getTableName, type Table } from "drizzle-orm";

/** Column name → stored bytes: UTF-8 length for text and blobs, 8 for an integer, 0 for null. */
export type ColumnBytes = Record<string, number>;

/** The stored size of each column of the one row of `d1` that `where` selects (bound to `params`). */
export async function columnBytes(d1: D1Database, table: Table, where: string, ...params: unknown[]): Promise<ColumnBytes> {
  const names = Object.values(getTableColumns(table)).map((c) => c.name);
  const exprs = names.map(
    (n) => `CASE typeof("${n}") WHEN 'null' THEN 0 WHEN 'integer' THEN 8 WHEN 'real' THEN 8 ELSE length(CAST("${n}" AS BLOB)) END AS "${n}"`,
  );
  const row = await d1.prepare(`SELECT ${exprs.join(", ")} FROM "${getTableName(table)}" WHERE ${where}`)
    .bind(...params)
    .first<ColumnBytes>();
  if (!row) throw new Error(`no ${getTableName(table)} row where ${where}`);
  return row;
}

export const sum = (c: ColumnBytes) => Object.values(c).reduce((a, b) => a + b, 0);

/** The largest columns first, as "name bytes" pairs. */
export const dominant = (c: ColumnBytes, n = 4) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

/**
 * A record's own overhead in SQLite's format beyond its column bytes: the header (its size and
 * one serial type per column, 2 bytes for a text over 57 bytes) and the cell (payload-size
 * varint and the 2-byte cell pointer). An estimate of what a leaf page holds per row.
 */
export function recordOverhead(c: ColumnBytes): number {
  const types = Object.values(c).reduce((a, n) => a + (n > 57 ? (n > 8185 ? 3 : 2) : 1), 0);
  const payload = sum(c) + types + 1;
  return types + 1 + (payload > 16383 ? 3 : payload > 127 ? 2 : 1) + 2;
}

/** The D1 file's size now (D1 reports it with every statement). */
export async function databaseSize(d1: D1Database): Promise<number> {
  const r = await d1.prepare("SELECT 1").run();
  return (r.meta as { size_after: number }).size_after;
}

/**
 * Bytes the database grows by per row, measured: `copies` copies of one row are inserted by
 * `insertCopies` (a statement that reads `n` from the `copies(n)` CTE prepended to it) and the
 * file's growth is divided by them. Page granularity: ±4096 / copies bytes.
 */
export async function measuredBytesPerRow(d1: D1Database, insertCopies: string, params: unknown[], copies = 500): Promise<number> {
  const before = await databaseSize(d1);
  const r = await d1.prepare(
    `WITH RECURSIVE copies(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copies WHERE n < ${copies}) ${insertCopies}`,
  )
    .bind(...params)
    .run();
  if (r.meta.changes !== copies) throw new Error(`inserted ${r.meta.changes} copies, not ${copies}`);
  return Math.round(((r.meta as { size_after: number }).size_after - before) / copies);
}
