/** `new Rubric({apiKey, baseUrl})`: the client and its resources. */
import { RubricError } from "./errors.js";
import type { HttpConfig } from "./http.js";
import { Deliveries } from "./resources/deliveries.js";
import { Events } from "./resources/events.js";
import { EventTypes } from "./resources/event-types.js";
import { Webhooks } from "./resources/webhooks.js";

/** Where the API is when neither `baseUrl` nor `RUBRIC_BASE_URL` says otherwise: `npm start`'s local service. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8787";

export interface RubricOptions {
  /** API key (`rk_live_…`/`rk_test_…`); default `process.env.RUBRIC_API_KEY` where `process` exists. */
  apiKey?: string;
  /** API origin; default `process.env.RUBRIC_BASE_URL`, else http://127.0.0.1:8787. */
  baseUrl?: string;
  /** Retries of a call that may be retried (429 always; 5xx and network errors for idempotent calls). Default 2. */
  maxRetries?: number;
  /** Per-attempt timeout in ms, reading the answer included. Default 30 000. */
  timeoutMs?: number;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  /** How to wait between retries (default `setTimeout`); tests pass one that records and returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/** An environment variable where `process.env` exists (Node, Bun, Deno's Node compatibility); undefined elsewhere. */
function envVar(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/** The Rubric Webhooks API client. */
export class Rubric {
  readonly webhooks: Webhooks;
  readonly events: Events;
  readonly deliveries: Deliveries;
  readonly eventTypes: EventTypes;
  /** The API origin this client calls. */
  readonly baseUrl: string;

  constructor(options: RubricOptions = {}) {
    const apiKey = options.apiKey ?? envVar("RUBRIC_API_KEY");
    if (!apiKey) {
      throw new RubricError("Missing API key: pass new Rubric({ apiKey }) or set the RUBRIC_API_KEY environment variable");
    }
    const baseUrl = options.baseUrl ?? envVar("RUBRIC_BASE_URL") ?? DEFAULT_BASE_URL;
    try {
      new URL(baseUrl);
    } catch {
      throw new RubricError(`Invalid baseUrl ${JSON.stringify(baseUrl)}: expected an absolute URL such as ${DEFAULT_BASE_URL}`);
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new RubricError("No fetch available: pass new Rubric({ fetch })");
    const http: HttpConfig = {
      apiKey,
      baseUrl,
      maxRetries: options.maxRetries ?? 2,
      timeoutMs: options.timeoutMs ?? 30_000,
      // Called unbound: some runtimes refuse a `fetch` whose `this` is not the global object.
      fetch: (input, init) => fetchImpl(input, init),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
    };
    this.baseUrl = baseUrl;
    this.webhooks = new Webhooks(http);
    this.events = new Events(http);
    this.deliveries = new Deliveries(http);
    this.eventTypes = new EventTypes(http);
  }
}
