/**
 * Per-request services: a request id (also sent back as `X-Request-Id`), the
 * db (counting its rows), an id generator and the usage meter. After the
 * request, its counts go to the caller's account.
 */
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import { idGenerator } from "../lib/ids";
import { recordUsage } from "../metrics/flush";
import { meterD1, UsageMeter } from "../metrics/usage-meter";
import type { AppEnv } from "../types";

/** Puts the request's services in `c.var`. */
export const requestContext = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const newId = idGenerator();
    const requestId = newId("req");
    const meter = new UsageMeter();
    c.set("requestId", requestId);
    c.set("newId", newId);
    c.set("meter", meter);
    c.set("db", createDb(meterD1(c.env.DB, meter)));
    c.header("X-Request-Id", requestId);
    try {
      await next();
    } finally {
      meter.add("worker_requests");
      const accountId = c.get("principal")?.accountId;
      if (accountId) meter.spread(new Map([[accountId, 1]]));
      c.executionCtx.waitUntil(recordUsage(c.env, meter));
    }
  });
