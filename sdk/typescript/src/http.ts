/**
 * The one place requests are made: URL and headers, the per-attempt timeout,
 * retries with backoff that honour `Retry-After`, and mapping refusals to
 * typed errors. Only `fetch` is used, so it runs on Node ≥ 18, Workers, Deno
 * and browsers alike.
 */
import { APIConnectionError, APIError, errorFor, parseRetryAfter, type FieldIssue } from "./errors.js";

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call (and any retry waiting); the abort reason is thrown as is. */
  signal?: AbortSignal;
  /** Per-attempt timeout in ms (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Retries for this call (default: the client's `maxRetries`). */
  maxRetries?: number;
  /** `events.send` only: the `Idempotency-Key` (default: a random UUID, the same for every retry of the call). */
  idempotencyKey?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** What the resources need from the client. */
export interface HttpConfig {
  apiKey: string;
  baseUrl: string;
  maxRetries: number;
  timeoutMs: number;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1); spreads the backoff so clients do not retry in step. */
  random: () => number;
}

/** One API call. */
export interface Call {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: object;
  body?: unknown;
  /**
   * Whether sending the call twice has the effect of sending it once. Only
   * idempotent calls are retried after a 5xx or a network error; every call is
   * retried after a 429, which the API answers before doing anything.
   */
  idempotent: boolean;
  headers?: Record<string, string>;
  options?: RequestOptions;
}

/** A `Retry-After` longer than this is not waited for: the error is thrown instead. */
export const MAX_RETRY_AFTER_MS = 60_000;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/** Backoff before retry number `retry` (0-based): doubling from 500 ms, capped at 8 s, with jitter down to half. */
export function backoffMs(retry: number, random: () => number): number {
  const full = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retry);
  return Math.round(full * (0.5 + random() / 2));
}

/** The full URL of a call: base URL, path and the defined query parameters. */
export function buildUrl(baseUrl: string, path: string, query?: object): string {
  const url = new URL(baseUrl.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** Sends a call, retrying as {@link Call.idempotent} allows; resolves to the parsed JSON answer. */
export async function send<T>(config: HttpConfig, call: Call): Promise<T> {
  const options = call.options ?? {};
  const maxRetries = options.maxRetries ?? config.maxRetries;
  const headers: Record<string, string> = {
    Accept: "application/json",
    Authorization: `Bearer ${config.apiKey}`,
    ...(call.body !== undefined ? { "Content-Type": "application/json" } : {}),
    ...call.headers,
    ...options.headers,
  };
  const url = buildUrl(config.baseUrl, call.path, call.query);
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);

  for (let retry = 0; ; retry++) {
    const canRetry = retry < maxRetries;
    let res: Answer;
    try {
      res = await attempt(config, url, { method: call.method, headers, body }, options);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!(call.idempotent && canRetry)) {
        throw new APIConnectionError(`${call.method} ${call.path} failed: ${(err as Error)?.message ?? err}`, { cause: err });
      }
      await pause(config, backoffMs(retry, config.random), options.signal);
      continue;
    }
    if (res.status >= 200 && res.status < 300) return parseSuccess<T>(res, call);

    const error = toError(res);
    const retryable = res.status === 429 || (call.idempotent && res.status >= 500);
    if (!retryable || !canRetry) throw error;
    const retryAfter = parseRetryAfter(res.headers.get("retry-after"), Date.now());
    if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_MS) throw error;
    await pause(config, retryAfter ?? backoffMs(retry, config.random), options.signal);
  }
}

/** An answer, read whole. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** One fetch with its own timeout, also aborted by the caller's signal. */
async function attempt(config: HttpConfig, url: string, init: RequestInit, options: RequestOptions): Promise<Answer> {
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? config.timeoutMs;
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort);
  try {
    if (options.signal?.aborted) throw options.signal.reason;
    const res = await config.fetch(url, { ...init, signal: controller.signal });
    // The body is read under the same timeout: a stalled answer is a failed attempt too.
    return { status: res.status, headers: res.headers, text: await res.text() };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function pause(config: HttpConfig, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  await config.sleep(ms);
  if (signal?.aborted) throw signal.reason;
}

/** A success's JSON (`undefined` for an empty body); a body that is not JSON (a proxy's page, say) is an APIError. */
function parseSuccess<T>({ status, headers, text }: Answer, call: Call): T {
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    const requestId = headers.get("x-request-id") ?? undefined;
    throw new APIError({ status, code: "invalid_response", message: `${call.method} ${call.path}: the ${status} answer is not JSON`, requestId, headers });
  }
}

/** The typed error for a refused call, from the one wire error shape (or the bare status when the body is not it). */
function toError({ status, headers, text }: Answer) {
  let wire: { code?: string; message?: string; details?: FieldIssue[]; request_id?: string } | undefined;
  try {
    wire = JSON.parse(text)?.error;
  } catch {}
  return errorFor(status, {
    status,
    code: typeof wire?.code === "string" ? wire.code : `http_${status}`,
    message: typeof wire?.message === "string" ? wire.message : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`,
    requestId: wire?.request_id ?? headers.get("x-request-id") ?? undefined,
    details: Array.isArray(wire?.details) ? wire.details : [],
    headers,
  });
}
