/**
 * The listen transport: deliveries of a `transport: "listen"` webhook travel
 * over the WebSocket that `rubric listen` holds on the webhook's object,
 * instead of an outbound fetch. The object signs exactly as for HTTP
 * (attempt.ts `deliveryHeaders`); the CLI POSTs the same headers and bytes to
 * its local URL and answers with what came back, which becomes the attempt
 * record. Scheduling, FIFO, retries and records never know the difference
 * (transport.ts is the seam).
 *
 * The socket uses the hibernation API: an idle listener costs nothing, and the
 * CLI's heartbeats are answered by the runtime without waking the object
 * (`setWebSocketAutoResponse`). The object still notices a listener that went
 * quiet, from the time of its last heartbeat (see listen-lifecycle.ts).
 *
 * Wire protocol (JSON text frames):
 * - object → CLI `{"type":"ready","webhook_id"}` once attached; `{"type":"delivery","id",
 *   "delivery_id","event_id","event_type","attempt","timeout_ms","headers","body"}` per attempt;
 * - CLI → object `{"type":"result","id","status","headers","body","duration_ms","error"}`
 *   (status null when the local call failed; `error` says why);
 * - `{"type":"ping"}` → `{"type":"pong"}` at any time (answered by the runtime).
 */
import type { AttemptRequest, AttemptResult } from "./attempt";
import { deliveryHeaders, MAX_RESPONSE_STORED } from "./attempt";
import { truncateUtf8 } from "../lib/attempt-storage";
import type { Transport } from "./transport";

/** The tag of a listen socket among the object's hibernatable WebSockets. */
export const LISTEN_TAG = "listen";
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';
/** The CLI sends a heartbeat this often; the object closes a socket silent for 3 of them and a bit. */
export const HEARTBEAT_MS = 10_000;
export const SILENT_CLOSE_MS = 3 * HEARTBEAT_MS + 5_000;
/** An answer may arrive this long after the attempt's own timeout (the CLI enforces the timeout locally). */
const ANSWER_SLACK_MS = 3_000;
/** Frames larger than this, or more than this many per 10 s, close the socket: nothing legitimate sends them. */
const MAX_FRAME_BYTES = 256 * 1024;
const MAX_FRAMES_PER_10S = 2_000;
/** Response headers kept from an answer, at most (names and values are cut to 1 KB each). */
const MAX_ANSWER_HEADERS = 50;

/** Close codes the object uses (4000–4999 are the application's). */
export const CLOSE = {
  replaced: [4000, "replaced by a newer listener"],
  silent: [4008, "no heartbeat"],
  abusive: [1008, "policy violation"],
  gone: [4004, "webhook deleted"],
} as const;

/** What a socket remembers across hibernation. */
interface Attachment {
  sid: string;
  connectedAt: number;
}

interface Waiting {
  sid: string;
  resolve: (answer: Answer) => void;
}

/** The CLI's answer to one delivery (or why there is none). */
type Answer = { kind: "result"; status: number | null; headers: Record<string, string>; body: string; durationMs: number; error: string | null } | { kind: "none"; error: string };

/** One object's listen socket(s) and the attempts waiting for an answer. Memory only, except the sockets themselves. */
export class ListenHub {
  private readonly waiting = new Map<string, Waiting>();
  private frames = { windowStart: 0, count: 0 };

  constructor(private readonly ctx: DurableObjectState) {}

  /** The attached listener, if any (the newest one: attaching closes older ones). */
  socket(): WebSocket | null {
    const open = this.ctx.getWebSockets(LISTEN_TAG).filter((ws) => ws.readyState === WebSocket.OPEN);
    return open.at(-1) ?? null;
  }

  connected(): boolean {
    return this.socket() !== null;
  }

  /** Accepts a new listener for `webhookId`, replacing any older one; the 101 answer for the route. */
  attach(webhookId: string): Response {
    for (const old of this.ctx.getWebSockets(LISTEN_TAG)) {
      closeQuietly(old, ...CLOSE.replaced);
      // Attempts sent on it fail now (and are retried on the new one), not at their timeout.
      this.socketGone(old);
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [LISTEN_TAG]);
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    server.serializeAttachment({ sid: crypto.randomUUID(), connectedAt: Date.now() } satisfies Attachment);
    server.send(JSON.stringify({ type: "ready", webhook_id: webhookId }));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** When the listener was last heard of: its last heartbeat, else when it connected. */
  lastHeard(ws: WebSocket): number {
    const ping = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(ping, attachmentOf(ws)?.connectedAt ?? 0);
  }

  /** Closes listeners silent for longer than {@link SILENT_CLOSE_MS}; true when one is still attached. */
  closeSilent(now = Date.now()): boolean {
    for (const ws of this.ctx.getWebSockets(LISTEN_TAG)) {
      if (now - this.lastHeard(ws) > SILENT_CLOSE_MS) {
        closeQuietly(ws, ...CLOSE.silent);
        this.socketGone(ws);
      }
    }
    return this.connected();
  }

  /** A frame from the CLI (heartbeats never get here: the runtime answers them). */
  onMessage(ws: WebSocket, data: string | ArrayBuffer): void {
    const now = Date.now();
    if (now - this.frames.windowStart > 10_000) this.frames = { windowStart: now, count: 0 };
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (++this.frames.count > MAX_FRAMES_PER_10S || size > MAX_FRAME_BYTES || typeof data !== "string") return this.refuse(ws);
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return this.refuse(ws);
    }
    if (frame.type === "ping") return void ws.send(PONG);
    if (frame.type !== "result" || typeof frame.id !== "string") return this.refuse(ws);
    const waiting = this.waiting.get(frame.id);
    // A late answer (the attempt already timed out) or one for another socket is dropped.
    if (!waiting || waiting.sid !== attachmentOf(ws)?.sid) return;
    this.waiting.delete(frame.id);
    waiting.resolve(answerOf(frame));
  }

  /** A socket closed or errored: attempts waiting on it fail now instead of at their timeout. */
  socketGone(ws: WebSocket): void {
    const sid = attachmentOf(ws)?.sid;
    for (const [id, w] of this.waiting) {
      if (w.sid !== sid) continue;
      this.waiting.delete(id);
      w.resolve({ kind: "none", error: "listener disconnected before answering" });
    }
  }

  /** Answers a close the listener started (1005/1006 are not codes one may send back). */
  closeBack(ws: WebSocket, code: number, reason: string): void {
    if (code === 1005 || code === 1006) closeQuietly(ws, 1000, "");
    else closeQuietly(ws, code, reason);
  }

  /** Closes every listener (the webhook is gone). */
  closeAll(): void {
    for (const ws of this.ctx.getWebSockets(LISTEN_TAG)) {
      closeQuietly(ws, ...CLOSE.gone);
      this.socketGone(ws);
    }
  }

  /** The transport for the webhook's attempts. Never throws. */
  readonly transport: Transport = { send: (request) => this.send(request) };

  private async send(req: AttemptRequest): Promise<AttemptResult> {
    const startedAt = Date.now();
    // Lower-case names, as a receiver's HTTP stack shows them (the CLI sends them as they are).
    const headers = Object.fromEntries(Object.entries(await deliveryHeaders(req, Math.floor(startedAt / 1000))).map(([k, v]) => [k.toLowerCase(), v]));
    const failed = (error: string): AttemptResult => ({
      ok: false,
      responseCode: null,
      responseHeaders: null,
      responseBody: null,
      error,
      startedAt,
      durationMs: Date.now() - startedAt,
      requestHeaders: headers,
    });
    const ws = this.socket();
    const sid = ws ? attachmentOf(ws)?.sid : undefined;
    if (!ws || !sid) return failed("listener not connected");
    const id = crypto.randomUUID();
    const answer = new Promise<Answer>((resolve) => {
      this.waiting.set(id, { sid, resolve });
      setTimeout(() => {
        if (this.waiting.delete(id)) resolve({ kind: "none", error: `listener did not answer within ${req.timeoutMs} ms` });
      }, req.timeoutMs + ANSWER_SLACK_MS);
    });
    const frame = {
      type: "delivery",
      id,
      delivery_id: req.deliveryId,
      event_id: req.eventId,
      event_type: req.eventType,
      attempt: req.attempt,
      timeout_ms: req.timeoutMs,
      headers,
      body: req.body,
    };
    try {
      ws.send(JSON.stringify(frame));
    } catch (err) {
      this.waiting.delete(id);
      return failed(`listener unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    const a = await answer;
    if (a.kind === "none") return failed(a.error);
    const ok = a.status !== null && a.status >= 200 && a.status < 300 && a.error === null;
    return {
      ok,
      responseCode: a.status,
      responseHeaders: a.status === null ? null : a.headers,
      responseBody: a.status === null ? null : a.body,
      error: a.error ?? (ok ? null : `HTTP ${a.status}`),
      startedAt,
      // The local call's own latency, as the CLI measured it, bounded by what the object waited.
      durationMs: Math.min(a.durationMs, Date.now() - startedAt),
      requestHeaders: headers,
    };
  }

  private refuse(ws: WebSocket): void {
    closeQuietly(ws, ...CLOSE.abusive);
    this.socketGone(ws);
  }
}

function attachmentOf(ws: WebSocket): Attachment | null {
  return (ws.deserializeAttachment() as Attachment | null) ?? null;
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}

/** The CLI's result frame, bounded and typed; anything malformed is a failed attempt, not a crash. */
function answerOf(frame: Record<string, unknown>): Answer {
  const status = typeof frame.status === "number" && Number.isInteger(frame.status) && frame.status >= 100 && frame.status <= 599 ? frame.status : null;
  const headers: Record<string, string> = {};
  if (frame.headers && typeof frame.headers === "object") {
    for (const [k, v] of Object.entries(frame.headers as Record<string, unknown>).slice(0, MAX_ANSWER_HEADERS)) {
      if (typeof v === "string") headers[k.toLowerCase().slice(0, 1024)] = v.slice(0, 1024);
    }
  }
  const body = typeof frame.body === "string" ? truncateUtf8(frame.body, MAX_RESPONSE_STORED) : "";
  const durationMs = typeof frame.duration_ms === "number" && frame.duration_ms >= 0 ? Math.round(frame.duration_ms) : 0;
  const error = typeof frame.error === "string" ? frame.error.slice(0, 500) : status === null ? "listener reported no status" : null;
  return { kind: "result", status, headers, body, durationMs, error };
}
