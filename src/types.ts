/** Types shared by the Hono app: what lives in `c.var` for one request. */
import type { Db } from "./db/client";
import type { IdPrefix } from "./lib/ids";
import type { UsageMeter } from "./metrics/usage-meter";

/** The account an API key belongs to, with the key's scopes. */
export interface Principal {
  accountId: string;
  keyId: string;
  scopes: string[];
}

/** Hono's environment for this app. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    db: Db;
    /** Ids that increase strictly within this request. */
    newId: (prefix: IdPrefix) => string;
    principal: Principal;
    /** SHA-256 of the request's API key (set by apiKeyAuth before any lookup). */
    keyHash: string;
    /** Billable operations and outcomes of this request. */
    meter: UsageMeter;
  };
}
