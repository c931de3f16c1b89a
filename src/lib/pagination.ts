/** Cursor pagination over K-sortable ids: the cursor is the last row's id. */

/** Cuts a `limit + 1` result down to a page and its `next_cursor`, the key `cursorOf` gives the page's last row. */
export function page<T, W>(rows: T[], limit: number, toWire: (row: T) => W, cursorOf: (row: T) => string) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { data: items.map(toWire), next_cursor: more ? cursorOf(items[items.length - 1]!) : null };
}
