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
