/** Types of the dashboard app: the API's request services plus the signed-in session. */
import type { AppEnv } from "../types";

/** One answer of the API, as the dashboard reads it. */
export interface ApiResult {
  status: number;
  // The API's JSON: each page reads the fields it shows.
  json: any;
}

/** Calls the API as the session's key: same routes, validation, scopes and isolation as any client. */
export type ApiCall = (method: string, path: string, body?: unknown) => Promise<ApiResult>;

/** The signed-in viewer of one request. */
export interface Dash {
  kind: "key" | "portal";
  /** The session's account (for the aggregates the dashboard reads itself; the API checks it too). */
  accountId: string;
  csrf: string;
  /** A portal link's read-only flag: no form that changes anything is accepted. */
  readOnly: boolean;
  /** A portal link's webhooks; null: the whole account. */
  webhookIds: string[] | null;
  api: ApiCall;
}

/** Hono's environment for the dashboard. */
export interface DashEnv {
  Bindings: Env;
  Variables: AppEnv["Variables"] & { dash: Dash };
}

/** The API app's fetch, which the dashboard calls in-process. */
export type ApiFetch = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;
