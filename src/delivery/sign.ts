/**
 * Delivery signatures, with WebCrypto only.
 *
 * - `X-Rubric-Signature`: `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`,
 *   keyed by the UTF-8 bytes of the whole secret string, exactly as the seed's
 *   `verify_webhook.py` recomputes it.
 * - Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`,
 *   keyed by the base64-decoded part of the secret after `whsec_`.
 */
import { fromBase64, toBase64, toHex, utf8 } from "../lib/encoding";

async function hmac(key: Uint8Array<ArrayBuffer>, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, utf8(message));
}

/** The `X-Rubric-Signature` header value. */
export async function rubricSignature(secret: string, timestamp: number, body: string): Promise<string> {
  return `sha256=${toHex(await hmac(utf8(secret), `${timestamp}.${body}`))}`;
}

/** The Standard Webhooks key of a secret, or `null` when it does not decode as base64. */
export function standardWebhooksKey(secret: string): Uint8Array<ArrayBuffer> | null {
  return fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
}

/** One `v1,<base64>` Standard Webhooks signature, or `null` for a secret that is not base64. */
export async function standardSignature(
  secret: string,
  messageId: string,
  timestamp: number,
  body: string,
): Promise<string | null> {
  const key = standardWebhooksKey(secret);
  if (!key) return null;
  return `v1,${toBase64(await hmac(key, `${messageId}.${timestamp}.${body}`))}`;
}

/** A new endpoint secret: `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}
