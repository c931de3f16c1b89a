/**
 * Text columns stored deflated (issue 16 part 3, "bytes per delivery"). An
 * event's `data` is its bulk, and `events` is a `WITHOUT ROWID` table, whose
 * leaf pages hold at most ~1 000 bytes of a row: a 1.5 KB event spilled to a
 * 4 KiB overflow page (4.7 KB of the database per event, measured). Deflated,
 * the same JSON takes about 40 % and the row stays on its leaf page.
 *
 * A value of at least {@link PACK_FROM_BYTES} is stored as a raw-deflate BLOB
 * when that is smaller; anything else stays TEXT. Reads tell the two apart by
 * their SQLite type, so rows written before this (or by hand, as TEXT) read as
 * they are. The column's declared type stays `text`: no migration.
 */
import { customType } from "drizzle-orm/sqlite-core";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/** Shorter values are not worth deflating (and rarely shrink). */
export const PACK_FROM_BYTES = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What to bind for `text`: a BLOB when deflating saves bytes, the text itself otherwise. */
export function packText(text: string): string | Uint8Array {
  if (text.length < PACK_FROM_BYTES) return text;
  const raw = encoder.encode(text);
  const packed = deflateRawSync(raw);
  // A copy: Node's Buffer may be a view into a shared pool.
  return packed.byteLength < raw.byteLength ? new Uint8Array(packed) : text;
}

/** The text back from what D1 returns: a string, or a BLOB (an array of bytes locally, an ArrayBuffer or a view). */
export function unpackText(value: unknown): string {
  if (typeof value === "string") return value;
  let bytes: Uint8Array;
  if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  else if (Array.isArray(value)) bytes = Uint8Array.from(value as number[]);
  else throw new Error(`packed text column holds ${typeof value}`);
  return decoder.decode(inflateRawSync(bytes));
}

/** A `text` column whose long values are stored deflated (see the module comment). */
export const packedText = customType<{ data: string; driverData: string | Uint8Array }>({
  dataType: () => "text",
  toDriver: packText,
  fromDriver: (value) => unpackText(value),
});
