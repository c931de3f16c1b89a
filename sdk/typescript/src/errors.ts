/**
 * Typed errors. Every answer the API refuses becomes an {@link APIError}
 * (or a subclass picked by status) carrying the wire error's code, message,
 * field details and request id, so a support ticket can quote the id.
 */

/** One failing field of a 400/422: a dotted path and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Base class of everything this SDK throws on purpose. */
export class RubricError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The API answered with a non-2xx status. */
export class APIError extends RubricError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The wire error code (`validation_failed`, `not_found`, …), or `http_<status>` when the body had none. */
  readonly code: string;
  /** The request id from the body or the `X-Request-Id` header (`req_…`), when there was one. */
  readonly requestId: string | undefined;
  /** Every failing field, for validation errors. */
  readonly details: FieldIssue[];
  /** The answer's headers. */
  readonly headers: Headers;

  constructor(init: { status: number; code: string; message: string; requestId?: string; details?: FieldIssue[]; headers?: Headers }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details ?? [];
    this.headers = init.headers ?? new Headers();
  }
}

/** 400 or 422: the request was malformed or a field failed validation (see `details`). */
export class ValidationError extends APIError {}
/** 401: the API key is missing, mistyped, revoked, or its account is disabled. */
export class AuthenticationError extends APIError {}
/** 403: the API key lacks the scope the call needs (the message names it). */
export class PermissionDeniedError extends AuthenticationError {}
/** 404: no such resource in this account. */
export class NotFoundError extends APIError {}
/** 409: the resource already exists or is in a conflicting state. */
export class ConflictError extends APIError {}
/** 429: the API key's rate limit; `retryAfterSeconds` is the server's `Retry-After` in seconds, when given. */
export class RateLimitError extends APIError {
  get retryAfterSeconds(): number | undefined {
    const seconds = parseRetryAfter(this.headers.get("retry-after"), Date.now());
    return seconds === undefined ? undefined : seconds / 1000;
  }
}

/** The request never got an answer: connection refused or reset, DNS failure, or the timeout. */
export class APIConnectionError extends RubricError {}

/** Picks the error class for a status. */
export function errorFor(status: number, init: ConstructorParameters<typeof APIError>[0]): APIError {
  if (status === 400 || status === 422) return new ValidationError(init);
  if (status === 401) return new AuthenticationError(init);
  if (status === 403) return new PermissionDeniedError(init);
  if (status === 404) return new NotFoundError(init);
  if (status === 409) return new ConflictError(init);
  if (status === 429) return new RateLimitError(init);
  return new APIError(init);
}

/**
 * `Retry-After` in milliseconds from now: delta-seconds or an HTTP date.
 * `undefined` when absent or unparsable; never negative.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
