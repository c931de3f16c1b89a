/** The JSON envelope a receiver gets: exactly the seed's `webhook_payload.json` shape. */

/** What the envelope is built from (an event row as stored). */
export interface EnvelopeSource {
  id: string;
  type: string;
  createdAt: number;
  data: string;
  metadata: string;
}

/** ISO-8601 UTC with second precision and a trailing `Z`, as in the seed. */
export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

/**
 * The body bytes that are signed and sent. `data` and `metadata` are stored as
 * the JSON text the producer's values serialise to, and spliced in unchanged.
 */
export function renderEnvelope(event: EnvelopeSource): string {
  return `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"created_at":"${isoSeconds(
    event.createdAt,
  )}","data":${event.data},"metadata":${event.metadata}}`;
}
