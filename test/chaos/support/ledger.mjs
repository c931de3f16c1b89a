// The chaos suite's bookkeeping: what a receiver got, compared with what the
// API accepted. Pure functions over the test receiver's records, so the
// definitions below are tested on their own (ledger.test.mjs).
//
// Definitions, per endpoint:
// - a receipt is *successful* when the receiver answered 2xx and wrote the whole
//   answer (`/_stats` entry `finished`); a dropped or hung answer is not one;
// - *lost*: an accepted event (its POST got a 2xx) with no successful receipt;
// - *duplicates*: successful receipts beyond the first for the same delivery id;
// - *unexpected*: successful receipts of events the API never accepted (a
//   double-created event would show here);
// - *out of order* (FIFO endpoints): the events taken in the order of their
//   first successful receipt; an event is out of order when an event accepted
//   after it (a larger id: events are sent one after another per endpoint and
//   ids are time-ordered, which `sendOrderIsIdOrder` checks) was received
//   successfully before it. Each overtaken event counts once.

/** Whether a receiver record (with its `/_stats` entry) is a successful receipt. */
export const isSuccess = (record, stat) => record.answered >= 200 && record.answered < 300 && !!stat?.finished;

/**
 * Successful receipts of one endpoint, in arrival order:
 * [{eventId, deliveryId, at}] from the receiver's records and stats (same index).
 */
export function successfulReceipts(records, stats) {
  const out = [];
  records.forEach((r, i) => {
    if (!isSuccess(r, stats[i])) return;
    out.push({ eventId: r.headers["x-rubric-event-id"], deliveryId: r.headers["x-rubric-delivery-id"], at: r.received_at });
  });
  return out;
}

/** Whether ids listed in send order are also in increasing id order (the service's FIFO key). */
export const sendOrderIsIdOrder = (ids) => ids.every((id, i) => i === 0 || ids[i - 1] < id);

/**
 * Compares one endpoint's successful receipts with the ids it was accepted for
 * (in send order). Returns counts and the offending ids (`repeats`: each
 * duplicate with the times of the first and the repeated receipt).
 */
export function audit(acceptedIds, receipts) {
  const accepted = new Set(acceptedIds);
  const firstByDelivery = new Map();
  const repeats = [];
  const unexpected = [];
  for (const r of receipts) {
    if (!accepted.has(r.eventId)) {
      unexpected.push(r.eventId);
      continue;
    }
    if (firstByDelivery.has(r.deliveryId)) repeats.push({ eventId: r.eventId, deliveryId: r.deliveryId, firstAt: firstByDelivery.get(r.deliveryId).at, at: r.at });
    else firstByDelivery.set(r.deliveryId, r);
  }
  const firsts = [...firstByDelivery.values()];
  const received = new Set(firsts.map((r) => r.eventId));
  const lost = acceptedIds.filter((id) => !received.has(id));
  const outOfOrder = [];
  let highest = "";
  for (const r of firsts) {
    if (r.eventId < highest) outOfOrder.push({ eventId: r.eventId, at: r.at, overtakenBy: highest });
    else highest = r.eventId;
  }
  return { delivered: firsts.length, lost, duplicates: repeats.length, repeats, unexpected, outOfOrder, firstOrder: firsts.map((r) => r.eventId) };
}

/** Adds up per-endpoint audits; the line the suite prints. */
export function summarize(audits) {
  const total = { delivered: 0, lost: 0, duplicates: 0, unexpected: 0, outOfOrder: 0 };
  for (const a of audits) {
    total.delivered += a.delivered;
    total.lost += a.lost.length;
    total.duplicates += a.duplicates;
    total.unexpected += a.unexpected.length;
    total.outOfOrder += a.outOfOrder.length;
  }
  return { ...total, line: `chaos: ${total.delivered} delivered, ${total.lost} lost, ${total.duplicates} duplicates, ${total.outOfOrder} out of order` };
}
