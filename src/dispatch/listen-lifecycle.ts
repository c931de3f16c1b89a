/**
 * The life of a listen webhook around its socket. While a listener is
 * attached, the object looks every {@link CHECK_MS} for one gone silent
 * (listen-socket.ts closes it). When none is attached, deliveries are held in
 * order (make-attempt.ts) and the webhook waits LISTEN_EXPIRE_SECONDS for the
 * CLI to come back; then it is disabled (`webhook.disabled`, with the reason),
 * and LISTEN_DELETE_AFTER_SECONDS later deleted. A CLI that stops on purpose
 * (close code 1000) disables it at once. Reattaching clears both clocks.
 *
 * The clocks are in the object's storage, so a restart or hibernation keeps
 * them; the alarm's {@link EndpointAlarm.keepAt} keeps the next check alive
 * when the queue has nothing to come back for.
 */
import type { WebhookForDispatch } from "../db/delivery-queries";
import type { Endpoint } from "./endpoint-parts";
import { disableWebhook } from "./endpoint-health";
import type { ListenHub } from "./listen-socket";

/** How often an attached listener's heartbeat is looked at. */
export const CHECK_MS = 15_000;
const WEBHOOK = "listen:webhook";
const GONE_SINCE = "listen:gone_since";
const DISABLED_AT = "listen:disabled_at";
/** The reason a clean stop of the CLI records. */
export const STOPPED_REASON = "rubric listen stopped";

const secondsVar = (value: string | undefined, fallback: number) => Math.max(0, Number(value ?? fallback)) * 1000;
/** How long a listen webhook waits for its CLI to come back before it is disabled. */
export const listenExpireMs = (env: Env) => secondsVar(env.LISTEN_EXPIRE_SECONDS, 120);
/** How long a disabled listen webhook is kept before it is deleted. */
export const listenDeleteMs = (env: Env) => secondsVar(env.LISTEN_DELETE_AFTER_SECONDS, 86_400);

/** Deletes the webhook: its waiting deliveries cancelled and recorded, its row gone (the object does it). */
export type DeleteWebhook = (webhookId: string, reason: string) => Promise<void>;

/** The listen clocks of one endpoint object. */
export class ListenLifecycle {
  constructor(
    private readonly ep: Endpoint,
    private readonly hub: ListenHub,
    private readonly deleteWebhook: DeleteWebhook,
  ) {}

  private get storage() {
    return this.ep.ctx.storage;
  }

  /** A listener attached: the clocks stop, and what was held is sent. */
  async attached(webhookId: string): Promise<void> {
    await this.storage.put(WEBHOOK, webhookId);
    await this.storage.delete([GONE_SINCE, DISABLED_AT]);
    this.ep.webhooks.clear();
    await this.keep(Date.now() + CHECK_MS);
    if (!this.ep.queue.isEmpty()) await this.ep.alarm.ensure(Date.now());
  }

  /**
   * The webhook was created or enabled and no listener is attached yet: the
   * expiry clock starts now, so a listen webhook nobody attaches to does not
   * collect deliveries forever.
   */
  async awaiting(webhookId: string): Promise<void> {
    if (this.hub.connected()) return;
    const now = Date.now();
    await this.storage.put({ [WEBHOOK]: webhookId, [GONE_SINCE]: now });
    await this.storage.delete(DISABLED_AT);
    await this.keep(now + listenExpireMs(this.ep.env));
  }

  /** A listener's socket closed; `stopped`: the CLI said it is stopping (close code 1000). */
  async detached(stopped: boolean): Promise<void> {
    if (this.hub.connected()) return;
    const now = Date.now();
    await this.storage.put(GONE_SINCE, now);
    const webhookId = await this.storage.get<string>(WEBHOOK);
    const webhook = webhookId ? await this.ep.webhooks.get(webhookId) : null;
    if (stopped && webhook?.status === "active") return this.disable(webhook, STOPPED_REASON, now);
    await this.keep(now + listenExpireMs(this.ep.env));
  }

  /** Runs from the alarm: closes a silent listener, expires or deletes the webhook when due, and keeps the next check. */
  async check(now = Date.now()): Promise<void> {
    const webhookId = await this.storage.get<string>(WEBHOOK);
    if (!webhookId) return;
    if (this.hub.closeSilent(now)) return this.keep(now + CHECK_MS);
    const webhook = await this.ep.webhooks.get(webhookId);
    if (!webhook) {
      // Deleted (by the API or by us): nothing left to watch.
      this.ep.alarm.keepAt = null;
      await this.storage.delete([WEBHOOK, GONE_SINCE, DISABLED_AT]);
      return;
    }
    const goneSince = await this.since(GONE_SINCE, now);
    if (webhook.status === "active") {
      const expiresAt = goneSince + listenExpireMs(this.ep.env);
      if (now < expiresAt) return this.keep(expiresAt);
      return this.disable(webhook, `listener gone for ${Math.round((now - goneSince) / 1000)} s`, now);
    }
    const deleteAt = (await this.since(DISABLED_AT, now)) + listenDeleteMs(this.ep.env);
    if (now < deleteAt) return this.keep(deleteAt);
    this.ep.alarm.keepAt = null;
    await this.deleteWebhook(webhookId, "listen webhook expired");
    await this.storage.delete([WEBHOOK, GONE_SINCE, DISABLED_AT]);
  }

  /** Disables the webhook (`webhook.disabled` with `reason`) and starts the clock to its deletion. */
  private async disable(webhook: WebhookForDispatch, reason: string, now: number): Promise<void> {
    await disableWebhook(this.ep.env, this.ep.control, this.ep.usage, this.storage, webhook, reason);
    await this.storage.put(DISABLED_AT, now);
    this.ep.webhooks.clear();
    await this.keep(now + listenDeleteMs(this.ep.env));
  }

  /** The time stored under `key`, or `now`, stored (a clock that started before anyone looked). */
  private async since(key: string, now: number): Promise<number> {
    const stored = await this.storage.get<number>(key);
    if (stored !== undefined) return stored;
    await this.storage.put(key, now);
    return now;
  }

  private async keep(at: number): Promise<void> {
    this.ep.alarm.keepAt = at;
    await this.ep.alarm.ensure(at);
  }
}
