/**
 * The one error type of the API. Every non-2xx answer has the body
 * `{"error": {"code", "message", "details"?, "request_id"}}`.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  request_header_fields_too_large: 431,
  internal_error: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof STATUS;

/** One failing field: a dotted path and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** An API error with a stable machine-readable code. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: FieldIssue[];

  constructor(code: ErrorCode, message: string, details?: FieldIssue[]) {
    super(STATUS[code], { message });
    this.code = code;
    this.details = details;
  }

  /** The wire body for this error. */
  body(requestId: string) {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
        request_id: requestId,
      },
    };
  }
}

/** The 422 for failing fields: every issue in `details`, and all of them in the message. */
export const validationFailed = (issues: FieldIssue[]) =>
  new ApiError("validation_failed", `Invalid request: ${issues.map((d) => `${d.field} ${d.message}`).join("; ")}`, issues);

/**
 * A 503 that tells the client when to come back (`Retry-After`, seconds):
 * storage failed for a moment, or is overloaded, and nothing was done that a
 * retry with the same idempotency key would repeat.
 */
export class UnavailableError extends ApiError {
  constructor(
    readonly retryAfterSeconds: number,
    message = `Temporarily unavailable; retry after ${retryAfterSeconds} s`,
  ) {
    super("unavailable", message);
  }
}

/** 404 in the standard shape; also used for other accounts' ids, so they cannot be probed. */
export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
