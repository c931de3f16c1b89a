/**
 * When an endpoint is disabled by its own answers: at once on 410 Gone, or
 * after failing continuously for DISABLE_AFTER_HOURS with no success. The
 * clock lives in the endpoint's object storage (`failing_since`).
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import type { WebhookForDispatch } from "../db/delivery-queries";
import { webhooks } from "../db/schema";
import type { CounterSink } from "../lib/counter-names";
import { emitOperationalEvent } from "./operational-events";

const FAILING_SINCE = "failing_since";

/**
 * Keeps the time since when the endpoint has failed without a success
 * (written only on the first failure and on the first success after
 * failures, so a healthy endpoint costs nothing). Returns how long it has been failing.
 */
export async function trackFailure(storage: DurableObjectStorage, ok: boolean, at: number): Promise<number> {
  const since = await storage.get<number>(FAILING_SINCE);
  if (ok) {
    if (since !== undefined) await storage.delete(FAILING_SINCE);
    return 0;
  }
  if (since === undefined) {
    await storage.put(FAILING_SINCE, at);
    return 0;
  }
  return at - since;
}

/** Why the endpoint should be disabled after this answer, or null. */
export function disableReason(env: Env, responseCode: number | null, failingForMs: number): string | null {
  if (responseCode === 410) return "endpoint answered 410 Gone";
  const limitMs = Number(env.DISABLE_AFTER_HOURS ?? 120) * 3_600_000;
  if (failingForMs >= limitMs) return `failing continuously for ${Math.round(failingForMs / 3_600_000)} h with no success`;
  return null;
}

/**
 * Disables the webhook (recording why), resets its failure clock and emits
 * `webhook.disabled` to the account's other webhooks.
 */
export async function disableWebhook(
  env: Env,
  control: Db,
  meter: CounterSink,
  storage: DurableObjectStorage,
  webhook: WebhookForDispatch,
  reason: string,
): Promise<void> {
  const now = Date.now();
  await control.update(webhooks).set({ status: "disabled", disabledReason: reason, updatedAt: now }).where(eq(webhooks.id, webhook.id));
  await storage.delete(FAILING_SINCE);
  await emitOperationalEvent(env, meter, webhook.accountId, "webhook.disabled", {
    webhook_id: webhook.id,
    name: webhook.name,
    url: webhook.url,
    reason,
    disabled_at: new Date(now).toISOString(),
  });
}
