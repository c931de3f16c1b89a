/**
 * Per-request services: a request id (also sent back as `X-Request-Id`), the
 * control db (counting its rows), an id generator and the usage meter. After the
 * request, its counts go to the caller's account.
 */
import { createMiddleware } from "hono/factory";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { controlDb, recordsDb, shardD1, shardIndexOf } from "../db/shards";
import { idGenerator } from "../lib/ids";
import { recordUsage } from "../metrics/flush";
import { UsageMeter } from "../metrics/usage-meter";
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
    c.set("db", controlDb(c.env, meter));
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

/**
 * The database of an account's events and delivery records (the caller's
 * account unless named), counted into the request's meter. `c.var.db` is the
 * control database: configuration only.
 */
export const recordsOf = <E extends AppEnv>(c: Context<E>, accountId: string = c.var.principal.accountId): Db =>
  recordsDb(c.env, accountId, c.var.meter);

/** The same database as {@link recordsOf}, as the raw (counted) D1 binding, for hand-written SQL. */
export const recordsD1Of = <E extends AppEnv>(c: Context<E>, accountId: string = c.var.principal.accountId): D1Database =>
  shardD1(c.env, shardIndexOf(c.env, accountId), c.var.meter);
