/**
 * API key material. A key is `rk_live_`/`rk_test_` + 32 random base62
 * characters (~190 bits) + a 6-character checksum of them, so a mistyped or
 * truncated key is refused without a database lookup. Keys are shown once and
 * stored only as SHA-256.
 */
import { randomBytes, sha256Hex, utf8 } from "./encoding";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Every scope. `admin` includes the others. */
export const ALL_SCOPES = ["webhooks:read", "webhooks:write", "events:write", "admin"] as const;
export type Scope = (typeof ALL_SCOPES)[number];

const KEY_SHAPE = /^rk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Six base62 characters of the CRC-32 of `body`. */
function checksum(body: string): string {
  let n = crc32(utf8(body));
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Whether `key` has the shape of one of our keys and its checksum matches. */
export function isWellFormedKey(key: string): boolean {
  const m = KEY_SHAPE.exec(key);
  return m !== null && checksum(m[2]!) === m[3];
}

/** A new key and what is stored of it (hash, prefix, last four characters). */
export async function generateApiKey(mode: "live" | "test") {
  // Rejection sampling keeps every base62 character equally likely.
  let body = "";
  while (body.length < 32) {
    for (const b of randomBytes(48)) if (b < 248 && body.length < 32) body += BASE62[b % 62];
  }
  const key = `rk_${mode}_${body}${checksum(body)}`;
  return { key, hash: await sha256Hex(key), prefix: `rk_${mode}_`, last4: key.slice(-4) };
}
