/** Per-request services: a request id (also sent back as `X-Request-Id`), the db, an id generator. */
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import { idGenerator } from "../lib/ids";
import type { AppEnv } from "../types";

/** Puts the request's services in `c.var`. */
export const requestContext = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const newId = idGenerator();
    const requestId = newId("req");
    c.set("requestId", requestId);
    c.set("newId", newId);
    c.set("db", createDb(c.env.DB));
    c.header("X-Request-Id", requestId);
    await next();
  });
