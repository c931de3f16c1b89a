/**
 * Encryption at rest for endpoint secrets: AES-256-GCM with a random 96-bit IV
 * per value. Stored as `v1.<base64 iv>.<base64 ciphertext>`; the version names
 * the key so ENCRYPTION_KEY can be rotated later.
 */
import { fromBase64, randomBytes, toBase64, utf8 } from "./encoding";
import { ApiError } from "./errors";

const VERSION = "v1";

/** Imports ENCRYPTION_KEY (base64 of 32 bytes). */
export async function importSecretKey(encoded: string | undefined): Promise<CryptoKey> {
  const raw = encoded ? fromBase64(encoded) : null;
  if (!raw || raw.length !== 32) {
    // Refuse to run without a proper key rather than store secrets weakly.
    throw new ApiError("internal_error", "ENCRYPTION_KEY must be base64 of 32 bytes");
  }
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Encrypts a secret for storage. */
export async function sealSecret(key: CryptoKey, plaintext: string): Promise<string> {
  const iv = randomBytes(12);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, utf8(plaintext));
  return `${VERSION}.${toBase64(iv)}.${toBase64(sealed)}`;
}

/** Decrypts a value made by {@link sealSecret}. */
export async function openSecret(key: CryptoKey, stored: string): Promise<string> {
  const [version, ivText, dataText] = stored.split(".");
  const iv = ivText ? fromBase64(ivText) : null;
  const data = dataText ? fromBase64(dataText) : null;
  if (version !== VERSION || !iv || !data) throw new Error("stored secret has an unknown format");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, data);
  return new TextDecoder().decode(plain);
}
