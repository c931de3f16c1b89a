/**
 * `Server-Timing` on the ingest routes: how long the service itself spent on
 * the request (`app`), next to the entries the handler adds (`key`, `d1`:
 * routes/ingest-fast.ts). A client's latency minus `app` is the time spent
 * outside the Worker: queued in the runtime or its proxy, and the network.
 * The bench reads it to say where an ingest's tail goes during a burst.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../types";

/** Adds `app;dur=…` (whole milliseconds) once the handler has answered. */
export const serverTiming = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const start = Date.now();
    await next();
    c.res.headers.append("Server-Timing", `app;dur=${Date.now() - start}`);
  });

/** Runs `work` and adds its duration to the answer's `Server-Timing` as `name`. */
export async function timed<T>(c: Context<AppEnv>, name: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    c.header("Server-Timing", `${name};dur=${Date.now() - start}`, { append: true });
  }
}
