/**
 * A webhook receiver with node:http, as the seed's verify_webhook.py: it
 * verifies every delivery with the SDK's `verifyWebhook` (signature and a
 * 300 s timestamp window), drops duplicates by event id (delivery is at least
 * once), answers 200 at once and handles the event afterwards, so a slow
 * handler never turns into a timeout and a retry.
 *
 *   RUBRIC_WEBHOOK_SECRET=whsec_… PORT=9000 node dist/receiver.js
 *
 * Prints one JSON line per request it accepts or refuses.
 */
import http from "node:http";
import { pathToFileURL } from "node:url";
import { verifyWebhook, WebhookVerificationError, type WebhookEvent } from "@rubric/sdk";

/** Largest body accepted; Rubric's envelopes are far smaller (events are capped at 256 KiB). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Remembers the last `size` event ids, oldest forgotten first. */
export class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly size = 10_000) {}
  /** True the first time an id is offered, false for a repeat. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.size) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

export interface ReceiverOptions {
  /** The webhook's signing secret (or several while rotating). */
  secret: string | string[];
  /** Handles one genuine, first-seen event, after the answer has been sent. */
  onEvent: (event: WebhookEvent, headers: http.IncomingHttpHeaders) => void | Promise<void>;
  /** Where deliveries are posted (default /webhooks/rubric). */
  path?: string;
  log?: (entry: Record<string, unknown>) => void;
}

/** The receiver as an http.Server (not yet listening). */
export function createReceiver({ secret, onEvent, path = "/webhooks/rubric", log = (e) => console.log(JSON.stringify(e)) }: ReceiverOptions) {
  const seen = new SeenIds();
  return http.createServer(async (req, res) => {
    if (req.method !== "POST" || req.url?.split("?")[0] !== path) return void res.writeHead(404).end();
    const body = await readBody(req).catch(() => null);
    if (body === null) return void res.writeHead(413).end();
    let event: WebhookEvent;
    try {
      // The raw bytes, exactly as received: re-serialised JSON would not match the signature.
      event = await verifyWebhook(body, req.headers, secret);
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      log({ refused: err.reason });
      return void res.writeHead(401).end();
    }
    // Slack/Discord/Teams bodies have no `id`; the header always carries the event id.
    const id = String(req.headers["x-rubric-event-id"] ?? event.id);
    const first = seen.add(id);
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":"ok"}');
    log({ received: id, type: event.type ?? req.headers["x-rubric-event-type"], attempt: Number(req.headers["x-rubric-attempt"]), duplicate: !first });
    if (first) setImmediate(() => Promise.resolve(onEvent(event, req.headers)).catch((err) => log({ handler_error: String(err) })));
  });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The seed's event_handlers.py, reduced to logging what each would do. */
function handleEvent(event: WebhookEvent) {
  const data = event.data as Record<string, any>;
  switch (event.type) {
    case "evaluation.completed":
      if ((data.summary?.triage_accuracy ?? 1) < 0.8) console.log(JSON.stringify({ alert: `Low triage accuracy: ${data.summary.triage_accuracy}` }));
      break;
    case "safety.critical":
      console.log(JSON.stringify({ page_on_call: data.sample_id }));
      break;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const secret = process.env.RUBRIC_WEBHOOK_SECRET;
  if (!secret) {
    console.error("Set RUBRIC_WEBHOOK_SECRET to the webhook's signing secret (whsec_…)");
    process.exit(1);
  }
  const server = createReceiver({ secret, onEvent: handleEvent });
  server.listen(Number(process.env.PORT ?? 9000), "127.0.0.1", () => {
    const { port } = server.address() as import("node:net").AddressInfo;
    console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}/webhooks/rubric` }));
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
