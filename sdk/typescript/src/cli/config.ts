/**
 * Where the API is and which key to use: `--base-url`/`--api-key` win over
 * RUBRIC_BASE_URL/RUBRIC_API_KEY (the two lines `npm start` prints), and the
 * base URL falls back to the SDK's default (npm start's local service).
 */
import type { Command } from "commander";
import { DEFAULT_BASE_URL, Rubric } from "../index.js";
import { makeOutput, UsageError, type Output } from "./output.js";

/** The options every command accepts (declared once, on the program). */
export interface GlobalOptions {
  baseUrl?: string;
  apiKey?: string;
  json?: boolean;
  color?: boolean;
}

/** The base URL and API key a command will use. */
export interface Connection {
  baseUrl: string;
  apiKey: string;
}

const fromEnv = (env: NodeJS.ProcessEnv, name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);

/** Flags first, then the environment; a missing key or a malformed URL is a usage error (exit 2). */
export function resolveConnection(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const apiKey = opts.apiKey ?? fromEnv(env, "RUBRIC_API_KEY");
  if (!apiKey) {
    throw new UsageError("no API key: set RUBRIC_API_KEY (npm start prints it) or pass --api-key");
  }
  const baseUrl = opts.baseUrl ?? fromEnv(env, "RUBRIC_BASE_URL") ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`the base URL ${JSON.stringify(baseUrl)} is not an absolute URL (such as ${DEFAULT_BASE_URL})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`the base URL must be http(s), got ${JSON.stringify(baseUrl)}`);
  return { baseUrl, apiKey };
}

/** What a command's action needs: its options merged with the global ones, an SDK client, and its output. */
export interface Context<O> {
  opts: O & GlobalOptions;
  client: Rubric;
  out: Output;
}

/**
 * The context of the command being run. The client is made only here, so
 * `--help` and usage errors never need a key.
 */
export function contextOf<O>(command: Command): Context<O> {
  const opts = command.optsWithGlobals<O & GlobalOptions>();
  const out = makeOutput(opts);
  const { baseUrl, apiKey } = resolveConnection(opts);
  return { opts, out, client: new Rubric({ baseUrl, apiKey }) };
}
