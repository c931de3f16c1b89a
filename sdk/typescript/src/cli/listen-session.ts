/**
 * One `rubric listen` session: the WebSocket to the listen webhook's object
 * (GET /v1/webhooks/{id}/listen) and the local forwarding. Each delivery
 * frame carries the exact headers and bytes an HTTP delivery would (both
 * signatures included); it is POSTed to the forward URL as it is, and the
 * local answer (status, latency, the first 4 KB of the body) goes back to
 * become the attempt record — so the object retries a local 500 on its
 * schedule, and FIFO holds.
 *
 * It never stops silently: a heartbeat every 10 s (the service answers each
 * one) and a socket with no answer for 30 s is dropped; a lost socket is
 * reconnected with back-off, said on one line; while away, the object holds
 * the deliveries and sends them in order on reconnect. Stopping on purpose
 * closes with 1000, which disables the webhook at once (the service's side:
 * listen-lifecycle.ts).
 */
import WebSocket from "ws";

/** A heartbeat is sent this often; a socket with no pong for {@link SILENT_MS} is dropped and reconnected. */
const HEARTBEAT_MS = 10_000;
const SILENT_MS = 30_000;
/** Reconnect back-off: doubles from the first to the last, reset once attached. */
const BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000, 15_000];
/** At most this much of the local answer's body goes back (the attempt record keeps it). */
const BODY_BYTES = 4 * 1024;
/** Close codes the service uses that end the session instead of reconnecting. */
const FINAL_CLOSES: Record<number, string> = {
  4000: "another rubric listen attached to this webhook",
  4004: "the webhook was deleted",
  1008: "the service closed the socket (policy violation)",
};

/** One forwarded delivery, as printed. */
export interface ForwardedDelivery {
  at: string;
  status: number | null;
  event_type: string;
  event_id: string;
  delivery_id: string;
  attempt: number;
  latency_ms: number;
  error: string | null;
}

export interface ListenSessionOptions {
  baseUrl: string;
  apiKey: string;
  webhookId: string;
  forwardTo: string;
  /** One line per delivery. */
  onDelivery(d: ForwardedDelivery): void;
  /** One-line status notes (attached, lost, reconnecting). */
  onNote(text: string): void;
}

interface DeliveryFrame {
  type: "delivery";
  id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  timeout_ms: number;
  headers: Record<string, string>;
  body: string;
}

/** The WebSocket URL of a webhook's listen route. */
export function listenUrl(baseUrl: string, webhookId: string): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/v1/webhooks/${encodeURIComponent(webhookId)}/listen`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/** Runs until {@link ListenSession.stop} or a final close; `done` resolves with the exit code. */
export class ListenSession {
  private ws: WebSocket | null = null;
  private stopping = false;
  private attempt = 0;
  private everAttached = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastPong = 0;
  private finish: (code: number, reason?: string) => void = () => {};
  /** Resolves when the session is over: 0 after {@link stop}, else 1 and why. */
  readonly done: Promise<{ code: number; reason: string | null }>;

  constructor(private readonly o: ListenSessionOptions) {
    this.done = new Promise((resolve) => (this.finish = (code, reason) => resolve({ code, reason: reason ?? null })));
  }

  start(): this {
    this.connect();
    return this;
  }

  /** Stops on purpose: closes with 1000 (the service disables the listen webhook) and resolves `done` with 0. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopHeartbeat();
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return this.finish(0);
    ws.close(1000, "rubric listen stopped");
    // The close handshake normally completes at once; never hang on it.
    setTimeout(() => {
      ws.terminate();
      this.finish(0);
    }, 3_000).unref();
  }

  private connect(): void {
    const ws = new WebSocket(listenUrl(this.o.baseUrl, this.o.webhookId), { headers: { Authorization: `Bearer ${this.o.apiKey}` } });
    this.ws = ws;
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("utf8")));
      res.on("end", () => {
        const message = apiMessage(text) ?? `HTTP ${res.statusCode}`;
        // The key, the webhook or the request is wrong: trying again cannot help.
        if (res.statusCode && res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) {
          this.stopping = true;
          return this.finish(1, `cannot attach to ${this.o.webhookId}: ${message}`);
        }
        this.lost(`the service answered ${message}`);
      });
    });
    ws.on("open", () => {
      this.lastPong = Date.now();
      this.startHeartbeat(ws);
    });
    ws.on("message", (data) => this.onFrame(ws, data.toString("utf8")));
    ws.on("close", (code, reason) => {
      if (this.ws !== ws) return;
      this.stopHeartbeat();
      if (this.stopping) return this.finish(0);
      const final = FINAL_CLOSES[code];
      if (final) {
        this.stopping = true;
        return this.finish(1, `stopped: ${final}`);
      }
      this.lost(`connection closed (${code}${reason.length ? ` ${reason.toString("utf8")}` : ""})`);
    });
    ws.on("error", (err) => {
      // `close` follows; an error before `open` (refused, DNS) has no close of its own in every case.
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.CLOSED) this.lost(err.message);
    });
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: { type?: string } & Record<string, unknown>;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "pong") {
      this.lastPong = Date.now();
    } else if (frame.type === "ready") {
      this.attempt = 0;
      this.lastPong = Date.now();
      this.o.onNote(
        this.everAttached
          ? `Reconnected: forwarding to ${this.o.forwardTo} again (held deliveries follow, in order).`
          : `Ready: forwarding deliveries of ${this.o.webhookId} to ${this.o.forwardTo} (Ctrl-C to stop).`,
      );
      this.everAttached = true;
    } else if (frame.type === "delivery") {
      void this.forward(ws, frame as unknown as DeliveryFrame);
    }
  }

  /** POSTs one delivery to the forward URL exactly as sent, and answers the service. */
  private async forward(ws: WebSocket, frame: DeliveryFrame): Promise<void> {
    const started = performance.now();
    let result: { status: number | null; headers: Record<string, string>; body: string; error: string | null };
    try {
      const res = await fetch(this.o.forwardTo, {
        method: "POST",
        headers: frame.headers,
        body: frame.body,
        redirect: "manual",
        signal: AbortSignal.timeout(frame.timeout_ms),
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => (headers[name] = value));
      result = { status: res.status, headers, body: await readUpTo(res, BODY_BYTES), error: null };
    } catch (err) {
      result = { status: null, headers: {}, body: "", error: describeFetchError(err, frame.timeout_ms, this.o.forwardTo) };
    }
    const latency = Math.round(performance.now() - started);
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "result", id: frame.id, ...result, duration_ms: latency }));
    }
    this.o.onDelivery({
      at: new Date().toISOString(),
      status: result.status,
      event_type: frame.event_type,
      event_id: frame.event_id,
      delivery_id: frame.delivery_id,
      attempt: frame.attempt,
      latency_ms: latency,
      error: result.error,
    });
  }

  private lost(why: string): void {
    if (this.stopping || this.retry) return;
    this.ws?.removeAllListeners();
    this.ws?.terminate();
    this.ws = null;
    const delay = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)]!;
    this.o.onNote(`Connection lost: ${why}; reconnecting in ${(delay / 1000).toFixed(1)} s (deliveries wait, in order).`);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopping) this.connect();
    }, delay);
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastPong > SILENT_MS) return this.lost(`no answer to heartbeats for ${SILENT_MS / 1000} s`);
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
    }, HEARTBEAT_MS);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** The API's error message from an error body, if it is one. */
function apiMessage(text: string): string | null {
  try {
    const body = JSON.parse(text) as { error?: { message?: string; code?: string } };
    return body.error?.message ? `${body.error.message} (${body.error.code})` : null;
  } catch {
    return null;
  }
}

/** Up to `limit` bytes of a body as text; the rest is not read. */
async function readUpTo(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  // A character cut in half at the limit is dropped rather than sent broken.
  return new TextDecoder().decode(bytes, { stream: true });
}

function describeFetchError(err: unknown, timeoutMs: number, url: string): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return `timed out after ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code === "ECONNREFUSED") return `connection refused by ${url}`;
  return `network error: ${cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
}
