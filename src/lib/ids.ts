/**
 * K-sortable ids: a prefix, 10 Crockford base32 characters of millisecond time
 * and 16 of randomness (80 bits), like a ULID. Ids sort by creation time, so
 * they double as cursors and as the FIFO order of deliveries.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export type IdPrefix = "wh" | "evt" | "dlv" | "att" | "et" | "key" | "acct" | "req";

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** 16 base32 characters from 10 bytes (80 bits). */
function encodeRandom(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/**
 * Returns a generator of ids that stay strictly increasing within one request,
 * even for ids made in the same millisecond (a batch of events keeps its order).
 */
export function idGenerator(now: () => number = Date.now) {
  let lastMs = -1;
  let last = new Uint8Array(10);
  return (prefix: IdPrefix): string => {
    const ms = now();
    if (ms <= lastMs) {
      // Same millisecond: increment the random part instead of drawing a new one.
      const next = new Uint8Array(last);
      for (let i = next.length - 1; i >= 0; i--) {
        next[i] = (next[i]! + 1) & 0xff;
        if (next[i] !== 0) break;
      }
      last = next;
    } else {
      lastMs = ms;
      last = crypto.getRandomValues(new Uint8Array(10));
    }
    return `${prefix}_${encodeTime(lastMs)}${encodeRandom(last)}`;
  };
}

/** The smallest id of `prefix` made at `ms`: a bound for range scans by time. */
export const idFloor = (prefix: IdPrefix, ms: number): string => `${prefix}_${encodeTime(ms)}${"0".repeat(16)}`;

/** A one-off id (no ordering guarantee within the same millisecond). */
export const newId = (prefix: IdPrefix): string => idGenerator()(prefix);

/** Milliseconds encoded in an id made by this module. */
export function idTime(id: string): number {
  const body = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11);
  let ms = 0;
  for (const ch of body) ms = ms * 32 + ALPHABET.indexOf(ch);
  return ms;
}

/**
 * The delivery id of one event to one webhook: `dlv_` + the event id's body +
 * the webhook id's body. It sorts in event order (the FIFO order), fanning the
 * same event out twice yields the same id, and the webhook and event can be
 * read back from it, so a delivery is found by its key without an index.
 */
export function deliveryId(eventId: string, webhookId: string): string {
  return `dlv_${eventId.slice(eventId.indexOf("_") + 1)}${webhookId.slice(webhookId.indexOf("_") + 1)}`;
}

const DELIVERY_ID = /^dlv_([0-9A-HJKMNP-TV-Z]{26})([0-9A-HJKMNP-TV-Z]{26})$/;

/** The event and webhook ids inside a delivery id, or `null` for anything else. */
export function parseDeliveryId(id: string): { eventId: string; webhookId: string } | null {
  const m = DELIVERY_ID.exec(id);
  return m ? { eventId: `evt_${m[1]}`, webhookId: `wh_${m[2]}` } : null;
}

/** The event id inside a delivery id ("" for anything that is not one). */
export const eventOf = (deliveryId: string): string => parseDeliveryId(deliveryId)?.eventId ?? "";
