/** What every resource class shares: the client's HTTP configuration and the id-or-object argument style. */
import type { HttpConfig, RequestOptions } from "../http.js";

/** Base of the resource classes. */
export abstract class Resource {
  /** @internal */
  constructor(protected readonly http: HttpConfig) {}
}

/** A path segment, escaped. */
export const seg = (id: string): string => {
  if (typeof id !== "string" || id === "") throw new TypeError(`an id is required, got ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
};

/**
 * Accepts both `(id, params?, options?)` and the seed's keyword style
 * `({webhook_id, ...params}, options?)`; returns `[id, params, options]`.
 */
export function idArgs<P extends object>(
  first: string | (P & { webhook_id: string }),
  second?: P | RequestOptions,
  third?: RequestOptions,
): [string, P, RequestOptions | undefined] {
  if (typeof first === "string") return [first, (second ?? {}) as P, third];
  const { webhook_id, ...rest } = first;
  return [webhook_id, rest as unknown as P, second as RequestOptions | undefined];
}
