/**
 * `GET /v1/admin/shards` (operator token): how the records are spread. For
 * each shard: the accounts it holds, its event and attempt rows now, and the
 * statements and rows it has served since the state began (each database's
 * own traffic, metrics/snapshot.ts `readDatabaseTraffic`); the same traffic
 * for the control database. An operator sees a hot or full shard here; the
 * benchmark reads it for its per-shard table.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { accounts } from "../db/schema";
import { CONTROL_TAG, shardIndexes, shardScope, shardTag } from "../db/shards";
import type { Counters } from "../metrics/counters";
import { readDatabaseTraffic } from "../metrics/snapshot";
import { adminAuth } from "../middleware/auth";
import { errorResponses } from "../schemas/common";
import { jsonContent } from "./lookups";
import { createRouter } from "./router";

const Traffic = {
  d1_queries: z.number().int().openapi({ description: "Statements this database has run (flushed every USAGE_FLUSH_SECONDS)" }),
  d1_rows_read: z.number().int().openapi({ description: "Rows read, as D1 reports them" }),
  d1_rows_written: z.number().int().openapi({ description: "Rows written, as D1 reports and bills them" }),
};

const Shards = z
  .object({
    shards: z.array(
      z.object({
        index: z.number().int().openapi({ description: "Shard number; its binding is DB_SHARD_<index>" }),
        accounts: z.number().int().openapi({ description: "Accounts whose records this shard holds" }),
        events: z.number().int().openapi({ description: "Event rows on this shard now" }),
        delivery_attempts: z.number().int().openapi({ description: "Attempt rows on this shard now" }),
        ...Traffic,
      }),
    ),
    control: z.object(Traffic).openapi({ description: "The control database's own traffic (configuration reads and writes)" }),
  })
  .openapi("AdminShards", {
    example: {
      shards: [{ index: 0, accounts: 3, events: 1204, delivery_attempts: 2410, d1_queries: 5120, d1_rows_read: 20480, d1_rows_written: 3700 }],
      control: { d1_queries: 800, d1_rows_read: 1600, d1_rows_written: 12 },
    },
  });

const listShards = createRoute({
  method: "get",
  path: "/",
  summary: "Accounts, rows and database traffic per shard (operator token)",
  responses: {
    200: { description: "Every shard in use, and the control database", ...jsonContent(Shards) },
    ...errorResponses(401),
  },
});

const traffic = (c: Counters | undefined) => ({ d1_queries: c?.d1_queries ?? 0, d1_rows_read: c?.d1_rows_read ?? 0, d1_rows_written: c?.d1_rows_written ?? 0 });

/** Mounted at `/v1/admin/shards`. */
export const adminShardsRouter = createRouter();
adminShardsRouter.use("*", adminAuth());
adminShardsRouter.openapi(listShards, async (c) => {
  const meter = c.var.meter;
  const [ids, byTag] = await Promise.all([
    c.var.db.select({ id: accounts.id }).from(accounts).then((rows) => rows.map((r) => r.id)),
    readDatabaseTraffic(c.env, meter),
  ]);
  const shards = await Promise.all(
    shardIndexes(c.env).map(async (index) => {
      const scope = shardScope(c.env, index, meter);
      const [events, attempts] = await Promise.all([
        scope.records.get<{ n: number }>("SELECT count(*) AS n FROM events"),
        // Packed attempts count one each (db/attempt-packs.ts), as rows of their own would.
        scope.records.get<{ n: number }>(
          "SELECT (SELECT count(*) FROM delivery_attempts) + (SELECT coalesce(sum(n), 0) FROM attempt_packs) AS n",
        ),
      ]);
      return {
        index,
        accounts: ids.filter(scope.holds).length,
        events: events?.n ?? 0,
        delivery_attempts: attempts?.n ?? 0,
        ...traffic(byTag.get(shardTag(index))),
      };
    }),
  );
  return c.json({ shards, control: traffic(byTag.get(CONTROL_TAG)) }, 200);
});
