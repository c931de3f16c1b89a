// Sending events while the runtime may be dead: every request carries
// idempotency keys and is repeated, unchanged, until it gets a 2xx, so an
// event stored just before a kill -9 (its answer lost) is neither lost nor
// created twice. Only a 2xx counts as accepted.
import { sleep } from "../../e2e/support/service.mjs";

/** Statuses worth repeating: the runtime starting up, overloaded or rate limiting. */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * POSTs `body` to `baseUrl + path` until a 2xx (network errors and transient
 * statuses are repeated after `pause` ms), for at most `timeout` ms, or until
 * `signal` (optional, an AbortSignal) says the test is over.
 * Resolves to {json, headers, tries}; any other status fails at once.
 */
export async function postUntilAccepted({ baseUrl, apiKey, signal }, path, body, { headers = {}, timeout = 120_000, pause = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let tries = 0;
  let last = "";
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error(`POST ${path} abandoned: the test is over`);
    tries += 1;
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) return { json: JSON.parse(text), headers: res.headers, tries };
      if (!TRANSIENT.has(res.status)) throw Object.assign(new Error(`POST ${path} → ${res.status} ${text}`), { fatal: true });
      last = `HTTP ${res.status}`;
    } catch (err) {
      if (err.fatal) throw err;
      last = err.cause?.code ?? err.name ?? String(err);
    }
    await sleep(pause);
  }
  throw new Error(`POST ${path} not accepted within ${timeout} ms after ${tries} tries (last: ${last})`);
}

/**
 * Sends `items` ({key, project, seq}) as one `POST /v1/events/batch` with an
 * idempotency key per item. Returns the accepted event ids in item order and
 * how many items the API reported as `duplicate` (stored by a try whose answer was lost).
 */
export async function sendBatch(target, items) {
  const events = items.map((it) => ({ type: "evaluation.completed", data: { project_id: it.project, seq: it.seq }, idempotency_key: it.key }));
  const { json, tries } = await postUntilAccepted(target, "/v1/events/batch", { events });
  return { ids: json.data.map((r) => r.id), replayed: json.data.filter((r) => r.status === "duplicate").length, tries };
}

/** Sends one item as `POST /v1/events` with its `Idempotency-Key`; returns {ids: [id], replayed, tries}. */
export async function sendOne(target, it) {
  const { json, headers, tries } = await postUntilAccepted(
    target,
    "/v1/events",
    { type: "evaluation.completed", data: { project_id: it.project, seq: it.seq } },
    { headers: { "Idempotency-Key": it.key } },
  );
  return { ids: [json.id], replayed: headers.get("idempotent-replayed") === "true" ? 1 : 0, tries };
}
