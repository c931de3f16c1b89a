/**
 * Limits on what a request may be, checked before any route parses it
 * (DESIGN §5: bad input gets a 4xx with a clear message and changes nothing).
 * Mounted for every route, right after the request context, in this order:
 *
 * 1. {@link urlLimit}: the request target (path and query) is at most
 *    {@link MAX_URL_LENGTH} characters.
 * 2. {@link headerLimits}: at most {@link MAX_HEADER_COUNT} headers of at most
 *    {@link MAX_HEADER_BYTES} in all.
 * 3. {@link bodyLimits}: bodies over the route's limit are a 413, judged from
 *    `Content-Length` when present and counted while reading otherwise (chunked
 *    bodies): the rest of an oversized body is never read.
 * 4. {@link jsonBodies}: a non-empty body must be JSON, or it is a 415.
 *
 * (1) answers 414 `uri_too_long`, (2) 431 `request_header_fields_too_large`.
 */
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppEnv } from "../types";

/** Longest request target (path + query string), in characters. */
export const MAX_URL_LENGTH = 4096;
/** Most request headers (as the runtime lists them: repeated names count once, joined). */
export const MAX_HEADER_COUNT = 100;
/** Largest total of the request headers, counted as on the wire: `name: value\r\n`. */
export const MAX_HEADER_BYTES = 32 * 1024;
/** Largest body of any route without a limit of its own. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** A route with a body limit other than {@link DEFAULT_MAX_BODY_BYTES}. */
export interface RouteBodyLimit {
  method: string;
  /** The exact request path. */
  path: string;
  maxBytes: number;
}

/**
 * Routes allowed larger bodies: events (256 KiB) and batches (1 MiB). The same
 * limits are also declared on those routes (routes/events.ts); these let such
 * bodies through the global limit.
 */
export const ROUTE_BODY_LIMITS: readonly RouteBodyLimit[] = [
  { method: "POST", path: "/v1/events", maxBytes: 256 * 1024 },
  { method: "POST", path: "/v1/events/batch", maxBytes: 1024 * 1024 },
];

/** What `application/json` (and `application/*+json`, with parameters) looks like, as the route validators accept it. */
const JSON_CONTENT_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** Refuses a request target longer than `maxLength` characters with a 400 (414 wanted; see the module comment). */
export const urlLimit = (maxLength = MAX_URL_LENGTH) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const url = new URL(c.req.url);
    const length = url.pathname.length + url.search.length;
    if (length > maxLength) {
      throw new ApiError("uri_too_long", `Request URL too long: ${length} characters in path and query, at most ${maxLength}`);
    }
    await next();
  });

/** Refuses more than `maxCount` headers or more than `maxBytes` of them with a 400 (431 wanted; see the module comment). */
export const headerLimits = ({ maxCount = MAX_HEADER_COUNT, maxBytes = MAX_HEADER_BYTES } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    let count = 0;
    let bytes = 0;
    for (const [name, value] of c.req.raw.headers) {
      count += 1;
      bytes += name.length + value.length + 4;
    }
    if (count > maxCount) throw new ApiError("request_header_fields_too_large", `Too many request headers: ${count}, at most ${maxCount}`);
    if (bytes > maxBytes) throw new ApiError("request_header_fields_too_large", `Request headers too large: ${bytes} bytes, at most ${maxBytes}`);
    await next();
  });

const tooLarge = (maxBytes: number) => new ApiError("payload_too_large", `Request bodies here are limited to ${maxBytes} bytes`);

/**
 * Refuses bodies over the route's limit with a 413 before anything parses
 * them: at once when `Content-Length` says so, otherwise as soon as the bytes
 * read pass the limit (the rest is cancelled unread). A body within the limit
 * is buffered and handed on with its true `Content-Length`.
 */
export const bodyLimits = ({ defaultMaxBytes = DEFAULT_MAX_BODY_BYTES, routes = ROUTE_BODY_LIMITS } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const route = routes.find((r) => r.method === c.req.method && r.path === c.req.path);
    const maxBytes = route?.maxBytes ?? defaultMaxBytes;
    const declared = raw.headers.get("content-length");
    if (declared !== null) {
      if (!/^\s*\d+\s*$/.test(declared)) throw new ApiError("bad_request", `Invalid Content-Length header: '${declared.slice(0, 40)}'`);
      if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
    }
    // A Content-Length may still be wrong (or absent, for a chunked body): count what arrives.
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
    let body: Uint8Array;
    if (chunks.length === 1) body = chunks[0]!;
    else {
      body = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        body.set(chunk, offset);
        offset += chunk.byteLength;
      }
    }
    // GET and HEAD bodies are counted and dropped: no route reads one, and a Request cannot carry one on.
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const headers = new Headers(raw.headers);
    headers.delete("transfer-encoding");
    headers.set("content-length", String(size));
    c.req.raw = new Request(raw, { body, headers });
    await next();
  });

/** How many bytes a request body has (0 without one); `Content-Length` when {@link bodyLimits} has set it. */
async function bodySize(raw: Request): Promise<number> {
  if (!raw.body) return 0;
  const declared = raw.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared)) return Number(declared);
  return (await raw.clone().arrayBuffer()).byteLength;
}

/**
 * Refuses a non-empty body that is not declared JSON with a 415, on every
 * route: the API takes nothing else. Routes with a body schema check this
 * themselves; this also covers those whose body is optional or ignored, so a
 * body sent in the wrong format is refused rather than silently dropped. An
 * empty body (none at all) passes, and so does whatever came with a GET or HEAD.
 */
export const jsonBodies = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const type = c.req.header("content-type");
    if ((type === undefined || !JSON_CONTENT_TYPE.test(type)) && (await bodySize(c.req.raw)) > 0) {
      throw new ApiError(
        "unsupported_media_type",
        type === undefined ? "Request bodies must be JSON: send 'Content-Type: application/json'" : `Request bodies must be JSON, not '${type.slice(0, 100)}'`,
      );
    }
    await next();
  });
