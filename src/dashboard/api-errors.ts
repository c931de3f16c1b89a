/** Turning an API error answer into the dashboard's: field messages for forms, the rest as an error page. */
import { ApiError, type ErrorCode, type FieldIssue } from "../lib/errors";
import type { FieldErrors } from "./layout";
import type { ApiResult } from "./types";

/** The API's `details` grouped by top-level field (`events.0` → `events`). */
export function fieldErrors(res: ApiResult): FieldErrors {
  const out: FieldErrors = {};
  for (const d of (res.json?.error?.details ?? []) as FieldIssue[]) {
    const field = d.field.split(".")[0]!;
    (out[field] ??= []).push(d.field.includes(".") ? `${d.field}: ${d.message}` : d.message);
  }
  return out;
}

/** The API's message of an error answer. */
export const errorMessage = (res: ApiResult): string => res.json?.error?.message ?? `HTTP ${res.status}`;

/** Returns the JSON of a 2xx answer; otherwise throws the same error, for the error page. */
export function ok(res: ApiResult) {
  if (res.status >= 200 && res.status < 300) return res.json;
  throw new ApiError((res.json?.error?.code as ErrorCode) ?? "internal_error", errorMessage(res));
}
