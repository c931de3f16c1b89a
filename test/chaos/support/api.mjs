// Reading the service's view of deliveries, page by page.

/** Every delivery of webhook `id` (all pages of `GET /v1/webhooks/{id}/deliveries`). */
export async function deliveriesOf(service, id) {
  const rows = [];
  let cursor = null;
  do {
    const res = await service.api("GET", `/v1/webhooks/${id}/deliveries?limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (res.status !== 200) throw new Error(`deliveries of ${id}: ${res.status} ${res.text}`);
    rows.push(...res.json.data);
    cursor = res.json.next_cursor;
  } while (cursor);
  return rows;
}

/** One delivery with its attempt log (`GET /v1/deliveries/{id}`). */
export async function delivery(service, id) {
  const res = await service.api("GET", `/v1/deliveries/${id}`);
  if (res.status !== 200) throw new Error(`delivery ${id}: ${res.status} ${res.text}`);
  return res.json;
}

/**
 * Accepted events whose delivery the API does not show as `succeeded`:
 * `acceptedByHook[i]` are the event ids accepted for webhook `hookIds[i]`.
 * Returns [{index, eventId, delivery (or undefined when none is recorded)}].
 */
export async function notSucceeded(service, hookIds, acceptedByHook) {
  const out = [];
  for (const [index, id] of hookIds.entries()) {
    const rows = new Map((await deliveriesOf(service, id)).map((d) => [d.event_id, d]));
    for (const eventId of acceptedByHook[index]) {
      const d = rows.get(eventId);
      if (d?.status !== "succeeded") out.push({ index, eventId, delivery: d });
    }
  }
  return out;
}
