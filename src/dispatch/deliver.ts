/**
 * Turning a delivery's context into one attempt: the body in the webhook's
 * format, its secrets (the current one and any still in their rotation grace
 * period), its extra headers, the SSRF guard again. Shared by the endpoint's
 * Durable Object and the synchronous test send.
 */
import type { AttemptContext } from "../db/delivery-queries";
import { renderEnvelope } from "../delivery/envelope";
import { renderBody } from "../delivery/formats";
import { isoSeconds } from "../delivery/envelope";
import { openSecret } from "../lib/secret-box";
import { resolverFromEnv } from "../lib/dns-resolve";
import { childTraceparent, eventTraceparent } from "../lib/trace-context";
import { deliveryUrlError, urlPolicy } from "../lib/url-guard";
import type { AttemptResult } from "./attempt";
import { httpTransport, type Transport } from "./transport";

/** The body bytes for an event in the webhook's format (the seed's envelope for `json`). */
export async function bodyFor(context: Pick<AttemptContext, "event" | "webhook">): Promise<string> {
  const { event, webhook } = context;
  if (webhook.format === "json") return renderEnvelope(event);
  const envelope = {
    id: event.id,
    type: event.type,
    created_at: isoSeconds(event.createdAt),
    data: JSON.parse(event.data) as Record<string, unknown>,
    metadata: JSON.parse(event.metadata) as Record<string, unknown>,
  };
  return (await renderBody(webhook.format, webhook.templates ?? undefined, envelope)) ?? renderEnvelope(event);
}

/** The webhook's signing secrets in plaintext, newest first, leaving out expired rotated ones. */
export async function signingSecrets(key: CryptoKey, webhook: AttemptContext["webhook"], now = Date.now()): Promise<string[]> {
  const sealed = [webhook.secret, ...(webhook.previousSecrets ?? []).filter((p) => p.expires_at > now).map((p) => p.secret)];
  return Promise.all(sealed.map((s) => openSecret(key, s)));
}

/** A failed result that never reached the network. */
export const failedBeforeSending = (error: string): AttemptResult => ({
  ok: false,
  responseCode: null,
  responseHeaders: null,
  responseBody: null,
  error,
  startedAt: Date.now(),
  durationMs: 0,
  requestHeaders: {},
});

/**
 * Makes one attempt at a delivery through `transport` (the signed HTTP POST
 * unless told otherwise). Never throws: a template that cannot render is a failed attempt.
 */
export async function deliverOnce(
  env: Env,
  key: CryptoKey,
  context: AttemptContext,
  attempt: number,
  transport: Transport = httpTransport,
): Promise<AttemptResult> {
  // The SSRF guard again, DNS included: a name may point elsewhere since it was checked.
  // A listen webhook's URL is never fetched by us (the CLI forwards to it on its own machine).
  const refusal = context.webhook.transport === "listen" ? null : await deliveryUrlError(context.webhook.url, urlPolicy(env), resolverFromEnv(env));
  if (refusal) return failedBeforeSending(refusal);
  let body: string;
  try {
    body = await bodyFor(context);
  } catch (err) {
    return failedBeforeSending(`template error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return transport.send({
    url: context.webhook.url,
    secrets: await signingSecrets(key, context.webhook),
    extraHeaders: context.webhook.headers ?? undefined,
    body,
    eventId: context.event.id,
    eventType: context.event.type,
    deliveryId: context.deliveryId,
    attempt,
    timeoutMs: context.webhook.timeoutMs,
    // Every attempt is a span of its own in the event's trace (a retry and a replay too).
    traceparent: childTraceparent(eventTraceparent(context.event)),
    tracestate: context.event.traceState,
  });
}
