/**
 * `rubric listen --forward-to URL`: the service's deliveries, forwarded to a
 * local URL with no tunnel. It finds (by `--name`, default this machine's
 * host name) or creates a webhook with `transport: "listen"`, then holds its
 * socket (listen-session.ts). Every step is a documented API call:
 * list (`?transport=listen`), create or update/enable, the secret, and the
 * socket `GET /v1/webhooks/{id}/listen`.
 *
 * Restarting with the same name takes up the same webhook: what was held
 * while the CLI was away arrives, in order. Ctrl-C disables it (the service
 * deletes it after LISTEN_DELETE_AFTER_SECONDS unless a listen takes it up again).
 */
import { hostname } from "node:os";
import { Command, Option } from "commander";
import type { CreateWebhook, Rubric, Webhook } from "../index.js";
import { contextOf, resolveConnection } from "./config.js";
import { collectList } from "./input.js";
import { FailedError, UsageError, type Output } from "./output.js";
import { ListenSession, type ForwardedDelivery } from "./listen-session.js";

interface ListenOptions {
  forwardTo?: string;
  events?: string[];
  name?: string;
  secret?: string;
  printSecret?: boolean;
  ordering?: "fifo" | "parallel";
}

/** The listen webhook of this name, made to match the options: created, updated, enabled as needed. */
async function prepareWebhook(client: Rubric, o: ListenOptions & { forwardTo: string; name: string }): Promise<{ webhook: Webhook; secret?: string }> {
  const existing = (await client.webhooks.list({ transport: "listen" }).toArray()).find((w) => w.name === o.name);
  if (!existing) {
    const body: CreateWebhook = {
      name: o.name,
      url: o.forwardTo,
      transport: "listen",
      events: o.events?.length ? o.events : ["*"],
      ordering: o.ordering ?? "fifo",
      description: `rubric listen on ${hostname()}`,
      ...(o.secret ? { secret: o.secret } : {}),
    };
    const created = await client.webhooks.create(body);
    return { webhook: created, secret: created.secret };
  }
  let webhook: Webhook = existing;
  const changes: Record<string, unknown> = {};
  if (existing.url !== o.forwardTo) changes.url = o.forwardTo;
  if (o.events?.length && o.events.join(",") !== existing.events.join(",")) changes.events = o.events;
  if (o.ordering && o.ordering !== existing.ordering) changes.ordering = o.ordering;
  if (Object.keys(changes).length) webhook = await client.webhooks.update(existing.id, changes);
  if (o.secret && (await client.webhooks.secret(existing.id)).secret !== o.secret) {
    // The chosen secret signs from now on; the old one stops at once (nothing else listens on it).
    await client.webhooks.rotateSecret(existing.id, { secret: o.secret, grace_period_seconds: 0 });
  }
  if (webhook.status === "disabled") webhook = await client.webhooks.enable(existing.id);
  return { webhook };
}

/** One line per delivery: time, status, event type, event id, latency (and the error of a failed local call). */
function printDelivery(out: Output, d: ForwardedDelivery): void {
  if (out.json) return out.jsonLine(d);
  const ok = d.status !== null && d.status >= 200 && d.status < 300;
  const status = d.status === null ? out.color.red("ERR") : ok ? out.color.green(String(d.status)) : out.color.red(String(d.status));
  const retry = d.attempt > 1 ? out.color.dim(` (attempt ${d.attempt})`) : "";
  const error = d.error ? ` ${out.color.red(d.error)}` : "";
  out.line(`${d.at.slice(11, 19)}  ${status}  ${d.event_type}  ${d.event_id}  ${d.latency_ms} ms${retry}${error}`);
}

/** Registers `rubric listen`. */
export function registerListen(program: Command): void {
  program
    .command("listen")
    .description("forward the service's deliveries to a local URL, signed exactly as over HTTP (a listen webhook, GET /v1/webhooks/{id}/listen)")
    .option("--forward-to <url>", "the local URL each delivery is POSTed to (required)")
    .option("--events <types>", "event types, comma-separated or repeated (default: *)", collectList)
    .option("--name <name>", "the listen webhook's name: a restart with the same name takes it up again (default: listen-<host name>)")
    .option("--secret <secret>", "the signing secret to use (default: the webhook's own, generated at creation)")
    .option("--print-secret", "print the listen webhook's signing secret and exit (configure your local receiver with it)")
    .addOption(new Option("--ordering <mode>", "delivery ordering of the listen webhook").choices(["fifo", "parallel"]))
    .addHelpText(
      "after",
      `
Prints one line per delivery: time, status, event type, event id, latency (--json: one JSON object
per line on stdout; notes always go to stderr). A local 500 or a refused connection is retried by
the service on the webhook's schedule; while the CLI is away the service keeps its deliveries and
sends them, in order, when it is back. Ctrl-C disables the listen webhook.

Example:
  rubric listen --forward-to http://localhost:3000/webhook --events evaluation.completed`,
    )
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<ListenOptions>(command);
      if (!opts.forwardTo) throw new UsageError("listen needs --forward-to <url> (the local URL to POST each delivery to)");
      try {
        const url = new URL(opts.forwardTo);
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
      } catch {
        throw new UsageError(`--forward-to must be an http(s) URL, got ${JSON.stringify(opts.forwardTo)}`);
      }
      const name = opts.name ?? `listen-${hostname()}`;
      const { webhook, secret } = await prepareWebhook(client, { ...opts, forwardTo: opts.forwardTo, name });
      if (opts.printSecret) {
        const value = secret ?? (await client.webhooks.secret(webhook.id)).secret;
        if (out.json) out.value({ webhook_id: webhook.id, secret: value });
        else out.line(value);
        return;
      }
      const { baseUrl, apiKey } = resolveConnection(opts);
      const session = new ListenSession({
        baseUrl,
        apiKey,
        webhookId: webhook.id,
        forwardTo: opts.forwardTo,
        onDelivery: (d) => printDelivery(out, d),
        onNote: (text) => out.note(text),
      }).start();
      const stop = () => session.stop();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const { code, reason } = await session.done;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (code !== 0) throw new FailedError(reason ?? "the listen session ended");
    });
}
