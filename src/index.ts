/**
 * The Worker: the HTTP API, the events queue consumer and the cron sweeper.
 * The Durable Object classes are exported here so the runtime can find them.
 */
import { createApp } from "./app";
import { handleQueueBatch } from "./dispatch/fan-out";
import { armSweeper } from "./dispatch/outbox-sweeper";

export { EndpointDispatcher } from "./dispatch/endpoint-dispatcher";
export { OutboxSweeper } from "./dispatch/outbox-sweeper";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  async scheduled(_controller, env, ctx) {
    // Production's safety net beside the sweeper's own alarm (which also re-arms here if it was ever lost).
    const sweeper = env.SWEEPER.get(env.SWEEPER.idFromName("outbox"));
    ctx.waitUntil(Promise.all([sweeper.sweep(), armSweeper(env)]));
  },
} satisfies ExportedHandler<Env>;
