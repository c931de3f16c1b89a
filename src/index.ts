/**
 * The Worker: the HTTP API, the events queue consumer and the cron sweeper.
 * The Durable Object classes are exported here so the runtime can find them.
 */
import { createApp } from "./app";
import { handleQueueBatch } from "./dispatch/fan-out";
import { shardIndexes } from "./db/shards";
import { armSweeper, armSweeperOnce, sweeperOf } from "./dispatch/outbox-sweeper";

export { EndpointDispatcher } from "./dispatch/endpoint-dispatcher";
export { OutboxSweeper } from "./dispatch/outbox-sweeper";

const app = createApp();

export default {
  // Each isolate's first request or batch arms the sweeper: after a restart, that is what wakes the objects.
  fetch(request, env, ctx) {
    armSweeperOnce(env, ctx);
    return app.fetch(request, env, ctx);
  },
  queue(batch, env, ctx) {
    armSweeperOnce(env, ctx);
    return handleQueueBatch(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    // Production's safety net beside the sweeper's own alarm (which also re-arms here if it was ever lost).
    ctx.waitUntil(armSweeper(env).then(() => Promise.all(shardIndexes(env).map((shard) => sweeperOf(env, shard).sweep()))));
  },
} satisfies ExportedHandler<Env>;
