/**
 * `rubric retry-failed --webhook ID --since 1h`: POST /v1/webhooks/{id}/retry_failed.
 *
 * One call re-queues at most 1 000 failed deliveries and says `has_more`. Calling
 * again with the same window would pick the same first 1 000 (still failed until
 * their new attempt is made) and add nothing, so to go further the window is
 * split: the failed deliveries are listed (GET …/deliveries?status=failed) and
 * retry_failed is called once per 1 000 of them, on the event-time window each
 * 1 000 spans. Re-queueing one already in flight adds nothing on the server.
 */
import type { Command } from "commander";
import type { RetryFailedResult, Rubric } from "../index.js";
import { contextOf } from "./config.js";
import { parseTime } from "./input.js";
import { startProgress, UsageError, type Progress } from "./output.js";

/** What one retry_failed call re-queues at most (the service's RETRY_FAILED_LIMIT). */
export const RETRY_FAILED_PAGE = 1000;

/** The event-time window: `since` inclusive, `until` exclusive, both ISO times. */
export interface RetryWindow {
  since: string;
  until?: string;
}

/**
 * Re-queues every failed delivery of the webhook's events in the window;
 * resolves to the API's answer shape, `queued` summed over the calls made and
 * `has_more` from the last one. `progress` makes the bar once the total is known.
 */
export async function retryAllFailed(
  client: Rubric,
  webhookId: string,
  window: RetryWindow,
  progress: (total: number) => Progress = () => ({ increment() {}, stop() {} }),
): Promise<RetryFailedResult> {
  const first = await client.webhooks.retryFailed(webhookId, window);
  if (!first.has_more) return first;

  // More than one call's worth: split the window at every 1 000th failed delivery (event order).
  const failed = await client.webhooks.deliveries(webhookId, { status: "failed", ...window }).toArray();
  const starts: string[] = [];
  for (let i = 0; i < failed.length; i += RETRY_FAILED_PAGE) starts.push(failed[i]!.created_at);
  const bar = progress(Math.max(failed.length, first.queued));
  bar.increment(first.queued);
  let queued = first.queued;
  let last = first;
  try {
    for (let k = 0; k < starts.length; k++) {
      const since = k === 0 ? window.since : starts[k]!;
      const until = k + 1 < starts.length ? starts[k + 1] : window.until;
      // The first part was re-queued by the first call; asking again picks up any that shifted into it and adds nothing twice.
      last = await client.webhooks.retryFailed(webhookId, until === undefined ? { since } : { since, until });
      if (k > 0) {
        queued += last.queued;
        bar.increment(last.queued);
      }
    }
  } finally {
    bar.stop();
  }
  return { queued, has_more: last.has_more };
}

/** Registers `rubric retry-failed` on the program. */
export function registerRetryFailed(program: Command): void {
  program
    .command("retry-failed")
    .summary("re-send a webhook's failed deliveries of a time window")
    .description("re-send every failed delivery of a webhook's events made in a window, in order, as manual attempts (POST /v1/webhooks/{id}/retry_failed); --json: {queued, has_more}")
    .requiredOption("--webhook <id>", "webhook id (wh_…)")
    .requiredOption("--since <time>", "events made since: a duration ago (30m, 1h, 2d) or an ISO time (2024-03-15T00:00:00Z)")
    .option("--until <time>", "events made before: a duration ago or an ISO time (default: now)")
    .addHelpText("after", "\nMore than 1 000 failed deliveries take several calls (with a progress bar on a terminal);\n--json then prints the summed {queued, has_more} of them.")
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<{ webhook: string; since: string; until?: string }>(command);
      const window: RetryWindow = { since: parseTime(opts.since, "--since") };
      if (opts.until !== undefined) window.until = parseTime(opts.until, "--until");
      if (window.until !== undefined && Date.parse(window.until) <= Date.parse(window.since)) throw new UsageError("--until must be after --since");
      const result = await retryAllFailed(client, opts.webhook, window, (total) => startProgress(out, "Re-queueing", total));
      if (out.json) return out.value(result);
      out.line(`Re-queued ${result.queued} failed deliveries of events since ${opts.since}${result.has_more ? " (more remain: run it again)" : ""}`);
    });
}
