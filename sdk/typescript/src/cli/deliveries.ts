/**
 * `rubric deliveries list` (GET /v1/webhooks/{id}/deliveries) and
 * `rubric deliveries tail`, which polls that same call (through the SDK's
 * followDeliveries) and prints each new attempt.
 */
import { Command, Option } from "commander";
import { NotFoundError, type Delivery, type DeliveryFollower, type Rubric } from "../index.js";
import { contextOf } from "./config.js";
import { parseDuration, parsePositiveInt, parseTime } from "./input.js";
import { colorStatus, FailedError, formatDate, renderTable, type Column, type Output } from "./output.js";

const STATUSES = ["pending", "succeeded", "failed", "cancelled"] as const;

const COLUMNS = (out: Output): Column<Delivery>[] => [
  { head: "id", get: (d) => d.id },
  { head: "event type", get: (d) => d.event_type },
  { head: "status", get: (d) => colorStatus(d.status, out.color) },
  { head: "attempts", get: (d) => d.attempts },
  { head: "code", get: (d) => d.response_code },
  { head: "event created", get: (d) => formatDate(d.created_at) },
  { head: "completed / next", get: (d) => (d.completed_at ? formatDate(d.completed_at) : `next ${formatDate(d.next_attempt_at)}`) },
  { head: "last error", get: (d) => d.last_error },
];

/** One attempt as a line for people: when, status, event, delivery, attempt number, answer. */
export function attemptLine(d: Delivery, out: Output, withWebhook: boolean): string {
  const when = formatDate(d.completed_at ?? new Date().toISOString());
  const parts = [
    out.color.dim(when),
    colorStatus(d.status.padEnd(9), out.color),
    ...(withWebhook ? [d.webhook_id] : []),
    d.event_type,
    d.id,
    `attempt ${d.attempts}`,
    d.response_code === null ? "-" : String(d.response_code),
  ];
  if (d.last_error) parts.push(out.color.red(d.last_error));
  if (d.next_attempt_at) parts.push(`next ${formatDate(d.next_attempt_at)}`);
  return parts.join("  ");
}

/** Waits `ms` or until `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });

interface TailOptions {
  webhook?: string;
  window: string;
  interval: string;
  count?: string;
  timeout?: string;
  existing?: boolean;
}

/**
 * Follows one webhook (`--webhook`) or every webhook of the account (the list
 * is read again on every round, so webhooks made meanwhile are followed too, all
 * of their deliveries being new). Resolves when stopped, or throws FailedError
 * when `--timeout` ends it before `--count` lines.
 */
async function tail(client: Rubric, out: Output, opts: TailOptions): Promise<void> {
  const windowMs = parseDuration(opts.window, "--window");
  const intervalMs = parseDuration(opts.interval, "--interval");
  const count = opts.count === undefined ? undefined : parsePositiveInt(opts.count, "--count");
  const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, "--timeout");

  const controller = new AbortController();
  const { signal } = controller;
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs);

  const startedAt = Date.now();
  const followers = new Map<string, DeliveryFollower>();
  const follow = (id: string, includeExisting: boolean) =>
    followers.set(id, client.webhooks.followDeliveries(id, { windowMs, startedAt, includeExisting, signal }));
  let printed = 0;
  try {
    if (opts.webhook) {
      await client.webhooks.get(opts.webhook, { signal }); // a mistyped id is a 404 now, not silence
      follow(opts.webhook, !!opts.existing);
    } else {
      for await (const w of client.webhooks.list({}, { signal })) follow(w.id, !!opts.existing);
    }
    out.note(`Following new delivery attempts of ${opts.webhook ?? `${followers.size} webhook(s)`} every ${opts.interval} (Ctrl-C stops)…`);
    for (let round = 0; !signal.aborted; round++) {
      if (!opts.webhook && round > 0) {
        const now = new Set<string>();
        for await (const w of client.webhooks.list({}, { signal })) {
          now.add(w.id);
          if (!followers.has(w.id)) follow(w.id, true);
        }
        for (const id of followers.keys()) if (!now.has(id)) followers.delete(id);
      }
      for (const [id, follower] of followers) {
        let changed: Delivery[];
        try {
          changed = await follower.poll();
        } catch (err) {
          if (err instanceof NotFoundError && !opts.webhook) {
            followers.delete(id); // deleted between the list and this poll
            continue;
          }
          throw err;
        }
        for (const d of changed) {
          if (out.json) out.jsonLine(d);
          else out.line(attemptLine(d, out, !opts.webhook));
          if (count !== undefined && ++printed >= count) return;
        }
      }
      await pause(intervalMs, signal);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  if (timedOut && count !== undefined && printed < count) throw new FailedError(`--timeout ${opts.timeout} passed after ${printed} of ${count} attempts`);
}

/** Registers `rubric deliveries …` on the program. */
export function registerDeliveries(program: Command): void {
  const deliveries = program.command("deliveries").description("a webhook's deliveries: list them, follow new attempts");

  deliveries
    .command("list")
    .description("list a webhook's deliveries in event order (GET /v1/webhooks/{id}/deliveries); --json: the array of deliveries")
    .requiredOption("--webhook <id>", "webhook id (wh_…)")
    .addOption(new Option("--status <status>", "only deliveries in this state").choices(STATUSES))
    .option("--event-type <type>", "only this event type")
    .option("--since <time>", "events made since: a duration ago (30m, 1h, 2d) or an ISO time")
    .option("--until <time>", "events made before: a duration ago or an ISO time")
    .option("--limit <n>", "at most this many (pages are fetched as needed)", "100")
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<{ webhook: string; status?: Delivery["status"]; eventType?: string; since?: string; until?: string; limit: string }>(command);
      const items = await client.webhooks
        .deliveries(opts.webhook, {
          limit: parsePositiveInt(opts.limit, "--limit"),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.eventType ? { event_type: opts.eventType } : {}),
          ...(opts.since ? { since: parseTime(opts.since, "--since") } : {}),
          ...(opts.until ? { until: parseTime(opts.until, "--until") } : {}),
        })
        .toArray();
      if (out.json) return out.value(items);
      out.line(renderTable(COLUMNS(out), items, out.color, "No deliveries match."));
    });

  deliveries
    .command("tail")
    .description("follow new delivery attempts until Ctrl-C, polling GET /v1/webhooks/{id}/deliveries; --json: one delivery object per line (NDJSON)")
    .option("--webhook <id>", "only this webhook (default: every webhook of the account)")
    .option("--window <duration>", "follow deliveries of events made within this long", "1h")
    .option("--interval <duration>", "time between polls", "1s")
    .option("--count <n>", "stop after printing this many attempts")
    .option("--timeout <duration>", "stop after this long (exit 1 if --count was not reached by then)")
    .option("--existing", "print the deliveries already there first")
    .addHelpText(
      "after",
      `
Each line is one delivery whose attempt count (or status) changed since the last poll, as the
deliveries list shows it: its latest attempt's status, response code and error, and "attempts".
Two attempts of one delivery within one poll show as one line. Attempts that finished after tail
started are printed even if the first poll already sees them; a retry of a delivery whose event is
older than --window is not seen. The "Following…" note goes to stderr.`,
    )
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<TailOptions>(command);
      await tail(client, out, opts);
    });
}
