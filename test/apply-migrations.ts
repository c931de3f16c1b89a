import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Each test file gets its own storage; bring every database (control and each bound shard) up to the current schema.
await Promise.all([env.DB, env.DB_SHARD_0, env.DB_SHARD_1, env.DB_SHARD_2, env.DB_SHARD_3].map((d1) => applyD1Migrations(d1, env.TEST_MIGRATIONS)));
