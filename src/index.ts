/**
 * The Worker: the HTTP API, the events queue consumer and the cron sweeper.
 * The Durable Object classes are exported here so the runtime can find them.
 */
import { createApp } from "./app";
import { handleQueueBatch } from "./dispatch/fan-out";
import { armSweeper, sweepOutbox } from "./dispatch/outbox-sweeper";

export { EndpointDispatcher } from "./dispatch/endpoint-dispatcher";
export { OutboxSweeper } from "./dispatch/outbox-sweeper";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(Promise.all([sweepOutbox(env), armSweeper(env)]));
  },
} satisfies ExportedHandler<Env>;
