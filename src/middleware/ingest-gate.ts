/**
 * Load shedding for ingest. Past capacity, requests that wait for storage
 * only pile up: answers slow for everyone, then connections fail. Each
 * isolate admits at most INGEST_MAX_IN_FLIGHT ingest requests at a time and
 * answers the rest at once with 503 `unavailable` and `Retry-After: 1`
 * (nothing stored, so a retry, with or without its idempotency key, is safe;
 * the SDKs retry it). A normal load never meets the gate: 200 events/s at
 * 10 ms each is 2 in flight.
 *
 * Module state on purpose: the count is of this isolate's requests.
 */
import { UnavailableError } from "../lib/errors";

let inFlight = 0;

/** How many ingest requests one isolate serves at once (INGEST_MAX_IN_FLIGHT, default 64). */
const limitOf = (env: Env) => Math.max(1, Number(env.INGEST_MAX_IN_FLIGHT ?? 64));

/** Runs `work` if the gate admits it, or throws the 503 that sheds it. */
export async function throughIngestGate<T>(env: Env, work: () => Promise<T>): Promise<T> {
  if (inFlight >= limitOf(env)) throw new UnavailableError(1, "Ingest is over capacity; retry after 1 s");
  inFlight += 1;
  try {
    return await work();
  } finally {
    inFlight -= 1;
  }
}
