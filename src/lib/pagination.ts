/** Cursor pagination over K-sortable ids: the cursor is the last id of the page. */

/** Cuts a `limit + 1` result down to a page and its `next_cursor`. */
export function page<T extends { id: string }, W>(rows: T[], limit: number, toWire: (row: T) => W) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { data: items.map(toWire), next_cursor: more ? items[items.length - 1]!.id : null };
}
