/** API key material: random keys shown once, stored as SHA-256 only. */
import { randomBytes, sha256Hex } from "./encoding";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Every scope; an account's first key gets all of them. */
export const ALL_SCOPES = ["webhooks:read", "webhooks:write", "events:write", "admin"];

/** A new key (`rk_live_`/`rk_test_` + 32 base62 characters, ~190 bits) and what is stored of it. */
export async function generateApiKey(mode: "live" | "test") {
  // Rejection sampling keeps every base62 character equally likely.
  let body = "";
  while (body.length < 32) {
    for (const b of randomBytes(48)) if (b < 248 && body.length < 32) body += BASE62[b % 62];
  }
  const key = `rk_${mode}_${body}`;
  return { key, hash: await sha256Hex(key), prefix: `rk_${mode}_`, last4: body.slice(-4) };
}
