/**
 * The shape of one event as a producer sends it. Both ingest paths
 * (routes/ingest.ts and its one-round-trip half, routes/ingest-fast.ts) take
 * it; it lives down here so neither has to import the other for a type.
 */

/** One event as a producer sends it (`POST /v1/events`, or one item of a batch). */
export interface EventInput {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  project_id?: string;
  severity?: string;
  idempotency_key?: string;
}
