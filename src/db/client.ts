/** The drizzle client over the D1 binding. */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** Makes a drizzle client for one request or one Durable Object. */
export const createDb = (d1: D1Database) => drizzle(d1, { schema });

export type Db = ReturnType<typeof createDb>;

/**
 * D1 accepts at most 100 bound parameters per statement; split id lists so
 * each `IN (...)` stays under it.
 */
export function chunk<T>(items: T[], size = 90): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
