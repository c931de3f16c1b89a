/**
 * EndpointDispatcher: one Durable Object per webhook, the only place that
 * decides when an endpoint is called. FIFO: a delivery is not sent before the
 * one ahead of it succeeded or ran out of retries.
 *
 * This class is the object's RPC surface and wires its lifecycle, one file per step:
 * - hand-over.ts: a hand-over is sent inline, joins the inline job, or is stored;
 * - inline-lane.ts: sending while the caller waits, no storage write in the common case;
 * - stored-lane.ts: the SQLite queue (endpoint-queue.ts), drained by alarms;
 * - make-attempt.ts: one attempt through the webhook's transport (transport.ts);
 * - endpoint-alarm.ts, fifo-gate.ts, lanes.ts: scheduling (alarm and lease, FIFO fence, lanes and pacer);
 * - attempt-records.ts: attempt records, written to D1 in batches.
 * Delivery ids sort in event order, so the stored queue's key is the FIFO order.
 */
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { loadAttemptContext, recordAttempt, type EventSnapshot } from "../db/delivery-queries";
import { webhooks } from "../db/schema";
import { idTime, newId, parseDeliveryId } from "../lib/ids";
import { shardIndexOf } from "../db/shards";
import { flushIntervalMs, flushUsage } from "../metrics/flush";
import { probeFetch } from "../metrics/probe-fetch";
import type { AttemptRequest, AttemptResult } from "./attempt";
import { failedBeforeSending } from "./deliver";
import { createEndpoint, type Endpoint } from "./endpoint-parts";
import type { Trigger } from "./endpoint-queue";
import { handOver } from "./hand-over";
import { ListenLifecycle } from "./listen-lifecycle";
import { LISTEN_TAG } from "./listen-socket";
import { withStorageRetry } from "./storage-retry";
import { drainAll } from "./stored-lane";

export class EndpointDispatcher extends DurableObject<Env> {
  private readonly ep: Endpoint;
  private readonly listen: ListenLifecycle;
  private lastFlush = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ep = createEndpoint(ctx, env);
    this.listen = new ListenLifecycle(this.ep, this.ep.listen, (id, reason) => this.deleteWebhook(id, reason));
    ctx.blockConcurrencyWhile(async () => this.ep.queue.create());
  }

  /**
   * The `rubric listen` socket (routes/webhook-listen.ts checked the key, the
   * account and that the webhook is a listen webhook, and names it in
   * `X-Rubric-Webhook-Id`). Attaching sends what was held, in order.
   */
  override async fetch(request: Request): Promise<Response> {
    this.ep.usage.add("do_requests");
    const webhookId = request.headers.get("X-Rubric-Webhook-Id");
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !webhookId) return new Response("expected a WebSocket upgrade", { status: 426 });
    const response = this.ep.listen.attach(webhookId);
    await this.listen.attached(webhookId);
    this.afterWork();
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.ep.listen.onMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Completes the closing handshake (the runtime does not answer a close on its own here).
    this.ep.listen.closeBack(ws, code, reason);
    await this.socketClosed(ws, code === 1000);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.socketClosed(ws, false);
  }

  /** A listener's socket is gone: what waited on it fails now, and the listen clocks start (`stopped`: on purpose). */
  private async socketClosed(ws: WebSocket, stopped: boolean): Promise<void> {
    this.ep.listen.socketGone(ws);
    await this.listen.detached(stopped);
    this.afterWork();
  }

  /**
   * Takes deliveries for this endpoint (ids already queued are ignored). Resolves
   * once each one was either attempted or stored durably, and within about
   * INLINE_BUDGET_MS even when the endpoint is slow.
   */
  async enqueue(deliveryIds: string[], trigger: Trigger = "scheduled", events: EventSnapshot[] = [], accounted: string[] = []): Promise<void> {
    this.ep.usage.add("do_requests");
    try {
      await handOver(this.ep, [...new Set(deliveryIds)].sort(), trigger, events, new Set(accounted));
    } finally {
      this.afterWork();
    }
  }

  /** Forgets the cached webhook configuration (the API calls this after every change). */
  async invalidate(): Promise<void> {
    this.ep.usage.add("do_requests");
    this.ep.webhooks.clear();
    // A stored backlog is looked at again under the new configuration (a switch to
    // parallel mode frees what waited behind a retry; nothing is sent before it is due).
    if (!this.ep.queue.isEmpty()) await this.ep.alarm.ensure(Date.now());
    this.afterWork();
  }

  /**
   * Backlog, in-flight count and the time of the oldest undelivered event, for
   * metrics; and whether the object was asleep: holding deliveries, sending
   * none, with no alarm that will run. That is a stall of ours, so it is
   * reported, and the alarm is re-armed on the spot.
   */
  async stats(): Promise<{ backlog: number; in_flight: number; oldest_event_at: number | null; asleep: boolean }> {
    const { ep } = this;
    ep.usage.add("do_requests");
    const inline = ep.inline && !ep.inline.stored ? [...ep.inline.inFlight, ...ep.inline.ids].sort() : [];
    const head = [ep.queue.headId() ?? undefined, inline[0]].filter((id) => id !== undefined).sort()[0];
    const oldest = head ? parseDeliveryId(head) : null;
    const asleep = ep.sending === 0 && (await this.rearm({ onlyIfDead: true }));
    this.afterWork();
    return {
      backlog: ep.queue.length() + inline.length,
      in_flight: ep.sending,
      oldest_event_at: oldest ? idTime(oldest.eventId) : null,
      asleep,
    };
  }

  /**
   * Re-arms the alarm for what this object holds; true when it holds deliveries.
   * The sweeper calls it on every active webhook's object after a start (see
   * wake-endpoints.ts): the alarm in storage may be one that will never fire.
   */
  async wake(): Promise<boolean> {
    this.ep.usage.add("do_requests");
    const holding = !this.ep.queue.isEmpty();
    await this.rearm({ onlyIfDead: false });
    this.afterWork();
    return holding;
  }

  /**
   * Sets the alarm to now when deliveries wait here and no run is in progress
   * (a run drains before it stops); `onlyIfDead`: only when no alarm will run.
   * True when it did.
   */
  private async rearm({ onlyIfDead }: { onlyIfDead: boolean }): Promise<boolean> {
    if (this.ep.queue.isEmpty() || this.ep.busy) return false;
    if (onlyIfDead && !(await this.ep.alarm.isDead())) return false;
    // A listen webhook whose CLI is away holds its backlog on purpose: that is not a stall.
    if (onlyIfDead && (await this.heldForListener())) return false;
    await this.ep.alarm.set(Date.now());
    return true;
  }

  /** A listen webhook was created or enabled: its expiry clock runs until a listener attaches (listen-lifecycle.ts). */
  async awaitListener(webhookId: string): Promise<void> {
    this.ep.usage.add("do_requests");
    this.ep.webhooks.clear();
    await this.listen.awaiting(webhookId);
    this.afterWork();
  }

  /** One attempt over the listen socket for the synchronous test send (webhooks.test), outside the queue. */
  async listenSend(request: AttemptRequest): Promise<AttemptResult> {
    this.ep.usage.add("do_requests");
    try {
      return await this.ep.listen.transport.send(request);
    } finally {
      this.afterWork();
    }
  }

  /** Whether what this object holds waits for a listen webhook's CLI to attach. */
  private async heldForListener(): Promise<boolean> {
    const head = this.ep.queue.headId();
    const webhookId = head ? parseDeliveryId(head)?.webhookId : undefined;
    const webhook = webhookId ? await this.ep.webhooks.get(webhookId) : null;
    return webhook?.transport === "listen" && !this.ep.listen.connected();
  }

  /**
   * Benchmark probe (operator only): `count` plain POSTs to `url` from this
   * object, `concurrency` at a time; the runtime's own ceiling for outbound calls.
   */
  async probeFetch(url: string, count: number, concurrency: number) {
    return probeFetch(url, count, concurrency);
  }

  /** Drains the stored queue; throws only when no alarm could be set at all (see stored-lane.ts `drainAll`). */
  override async alarm(): Promise<void> {
    this.ep.usage.add("do_requests");
    if (this.ep.busy) {
      // A run is in progress and will drain before it stops.
      this.ep.again = true;
      return;
    }
    this.ep.busy = true;
    try {
      // First, so the drain's idle alarm keeps the listen clock's next check (listen-lifecycle.ts).
      if (this.ctx.getWebSockets(LISTEN_TAG).length || this.ep.alarm.keepAt !== null) await this.listenCheck();
      await drainAll(this.ep);
    } finally {
      this.ep.busy = false;
      this.afterWork();
    }
  }

  /** The listen clocks; a failure is logged and looked at again at the next alarm, never thrown into the runtime. */
  private async listenCheck(): Promise<void> {
    await this.listen.check().catch((err) => console.error("endpoint dispatcher: listen check failed", err));
  }

  /** A listen webhook that expired: its waiting deliveries cancelled and recorded, then its row deleted. */
  private async deleteWebhook(webhookId: string, reason: string): Promise<void> {
    await this.cancelAll(reason);
    await this.ep.control.delete(webhooks).where(eq(webhooks.id, webhookId));
  }

  /** Sends what is held after the webhook is enabled again. */
  async resume(): Promise<void> {
    this.ep.usage.add("do_requests");
    this.ep.webhooks.clear();
    if (!this.ep.queue.isEmpty()) await this.ep.alarm.ensure(Date.now());
    this.afterWork();
  }

  /**
   * Cancels every delivery waiting here (the webhook is being deleted): each
   * gets a last record with status `cancelled`, then the storage is cleared.
   */
  async cancelAll(reason: string): Promise<number> {
    const { ep } = this;
    ep.usage.add("do_requests");
    ep.webhooks.clear();
    ep.listen.closeAll();
    await ep.records.flush();
    const ids = ep.queue.ids();
    for (const id of ids) {
      const context = await loadAttemptContext(ep.control, ep.recordsOf, id);
      if (!context || (context.latest && context.latest.status !== "retrying")) continue;
      await recordAttempt(ep.recordsOf(context.webhook.accountId), {
        context,
        attemptId: newId("att"),
        attempt: (context.latest?.attempt ?? 0) + 1,
        trigger: "manual",
        result: failedBeforeSending(`cancelled: ${reason}`),
        status: "cancelled",
        nextAttemptAt: null,
      });
    }
    // Clear everything (alarm included); an empty queue stays for any late hand-over. Both are safe to repeat.
    ep.alarm.keepAt = null;
    await ep.alarm.clear();
    await withStorageRetry(() => this.ctx.storage.deleteAll());
    ep.queue.create();
    this.afterWork();
    return ids.length;
  }

  /**
   * Flushes this object's counters when due; otherwise makes sure an alarm
   * will come back for them (an idle object would never flush).
   */
  private afterWork() {
    const { ep } = this;
    if (ep.usage.empty) return;
    const due = this.lastFlush + flushIntervalMs(this.env);
    if (Date.now() >= due) {
      this.lastFlush = Date.now();
      this.ctx.waitUntil(flushUsage(this.env, shardIndexOf(this.env, ep.usage.account), ep.usage).catch((err) => console.error("usage flush failed", err)));
    } else {
      // Only the counters' flush waits on this alarm: a failure is logged, never thrown into the runtime.
      this.ctx.waitUntil(ep.alarm.ensure(due).catch((err) => console.error("endpoint dispatcher: flush alarm not set", err)));
    }
  }
}
