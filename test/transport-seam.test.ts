import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AttemptRequest, AttemptResult } from "../src/dispatch/attempt";
import type { Transport } from "../src/dispatch/transport";
import { renderEnvelope } from "../src/delivery/envelope";
import { deliveryId } from "../src/lib/ids";
import { received, waitFor, webhookWithEvents } from "./support/helpers";
import { records } from "./support/records";

/** A transport that never touches the network: answers 500 to each delivery's first attempt, then 200. */
function scriptedTransport() {
  const sent: AttemptRequest[] = [];
  const transport: Transport = {
    async send(request) {
      sent.push(request);
      const ok = request.attempt > 1;
      const result: AttemptResult = {
        ok,
        responseCode: ok ? 200 : 500,
        responseHeaders: {},
        responseBody: ok ? "fine" : "not yet",
        error: ok ? null : "HTTP 500",
        startedAt: Date.now(),
        durationMs: 3,
        requestHeaders: { "x-seam": "scripted" },
      };
      return result;
    },
  };
  return { sent, transport };
}

describe("the transport seam", () => {
  it("sends every attempt through the object's transport; retries, FIFO order and records work unchanged on top of it", async () => {
    const { ep, hook, events, stub } = await webhookWithEvents("seam", 2, { retry_config: { max_retries: 2, backoff: "fixed", initial_delay_ms: 100 } });
    const { sent, transport } = scriptedTransport();
    await runInDurableObject(stub, (object) => {
      (object as unknown as { ep: { transportFor: () => Transport } }).ep.transportFor = () => transport;
    });

    await stub.enqueue(events.map((e) => deliveryId(e, hook.id)));
    const rows = async () =>
      (
        await records.prepare("SELECT delivery_id, attempt, status, response_code, response_body FROM all_attempts WHERE webhook_id = ? ORDER BY delivery_id, attempt")
          .bind(hook.id)
          .all<{ delivery_id: string; attempt: number; status: string; response_code: number; response_body: string }>()
      ).results;
    await waitFor(async () => (await rows()).filter((r) => r.status === "succeeded").length === 2, 10_000, "both deliveries to succeed");

    // FIFO through the seam: the first event's retry goes before the second event is tried at all.
    expect(sent.map((r) => [r.eventId, r.attempt])).toEqual([
      [events[0], 1],
      [events[0], 2],
      [events[1], 1],
      [events[1], 2],
    ]);
    // What reaches the transport is the whole signed request of an HTTP delivery.
    const stored = await records.prepare("SELECT id, type, data, metadata, created_at AS createdAt FROM events WHERE id = ?").bind(events[0]).first<{
      id: string;
      type: string;
      data: string;
      metadata: string;
      createdAt: number;
    }>();
    expect(sent[0]).toMatchObject({ url: ep.url, deliveryId: deliveryId(events[0]!, hook.id), eventType: stored!.type, timeoutMs: hook.timeout_ms });
    expect(sent[0]!.body).toBe(renderEnvelope(stored!));
    expect(sent[0]!.secrets).toEqual([hook.secret]);
    // The transport's answers are the attempt records, as an HTTP answer would be.
    expect((await rows()).map((r) => [r.delivery_id, r.attempt, r.status, r.response_code, r.response_body])).toEqual([
      [deliveryId(events[0]!, hook.id), 1, "retrying", 500, "not yet"],
      [deliveryId(events[0]!, hook.id), 2, "succeeded", 200, "fine"],
      [deliveryId(events[1]!, hook.id), 1, "retrying", 500, "not yet"],
      [deliveryId(events[1]!, hook.id), 2, "succeeded", 200, "fine"],
    ]);
    // Nothing went over HTTP.
    expect(await received(ep.name)).toEqual([]);
  });
});
