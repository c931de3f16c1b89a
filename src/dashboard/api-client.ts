/**
 * In-process calls to the API: the dashboard builds the same HTTP request a
 * client would, with the session's key, and hands it to the app's own fetch.
 * Nothing is re-implemented, so every rule of the API applies unchanged.
 */
import type { Context } from "hono";
import type { ApiCall, ApiFetch, DashEnv } from "./types";

/** An {@link ApiCall} acting with `apiKey`. */
export function apiCaller(c: Context<DashEnv>, apiFetch: ApiFetch, apiKey: string): ApiCall {
  const origin = new URL(c.req.url).origin;
  return async (method, path, body) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const req = new Request(`${origin}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const res = await apiFetch(req, c.env, c.executionCtx);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = { error: { code: "internal_error", message: text.slice(0, 200) } };
    }
    return { status: res.status, json };
  };
}

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
