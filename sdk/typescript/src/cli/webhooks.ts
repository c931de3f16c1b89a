/**
 * `rubric webhooks list|get|create|update|disable|enable|delete|test`: one SDK
 * call (one documented API call) each.
 */
import { Command, Option } from "commander";
import type { CreateWebhook, UpdateWebhook, Webhook } from "../index.js";
import { contextOf } from "./config.js";
import { collectHeader, collectList, parseJsonArg, parseJsonObject, parsePositiveInt } from "./input.js";
import { colorStatus, FailedError, formatDate, renderRecord, renderTable, UsageError, type Column, type Output } from "./output.js";

/** The flags create and update share, each one webhook field. */
interface FieldOptions {
  body?: string;
  name?: string;
  url?: string;
  events?: string[];
  secret?: string;
  description?: string;
  filters?: string;
  retryConfig?: string;
  format?: CreateWebhook["format"];
  ordering?: CreateWebhook["ordering"];
  header?: Record<string, string>;
  metadata?: string;
  timeoutMs?: string;
}

/** Columns of the webhook table. */
const COLUMNS = (out: Output): Column<Webhook>[] => [
  { head: "id", get: (w) => w.id },
  { head: "name", get: (w) => w.name },
  { head: "url", get: (w) => w.url },
  { head: "status", get: (w) => colorStatus(w.status, out.color) },
  { head: "events", get: (w) => w.events },
  { head: "created", get: (w) => formatDate(w.created_at) },
];

/** Adds the field flags to a command (`required`: what create cannot do without). */
function fieldOptions(command: Command, required: boolean): Command {
  const req = required ? " (required unless in --body)" : "";
  return command
    .option("--body <json>", "the whole request body as JSON, or @file; the flags below override its fields")
    .option("--name <name>", `a name for people${req}`)
    .option("--url <url>", `where deliveries go${req}`)
    .option("--events <types>", `event types, comma-separated or repeated (prefix.* and * allowed)${req}`, collectList)
    .option("--description <text>", "a description")
    .option("--filters <json>", 'filters as JSON or @file, e.g. \'{"projects": ["patient-triage"]}\'')
    .option("--retry-config <json>", 'retry_config as JSON or @file, e.g. \'{"max_retries": 5, "backoff": "exponential"}\'')
    .addOption(new Option("--format <format>", "body format").choices(["json", "slack", "discord", "msteams", "template"]))
    .addOption(new Option("--ordering <mode>", "delivery ordering").choices(["fifo", "parallel"]))
    .option("--header <header>", 'an extra outbound header "Name: value" (repeatable)', collectHeader)
    .option("--metadata <json>", "metadata as JSON or @file")
    .option("--timeout-ms <ms>", "per-attempt timeout in ms (1000-30000)");
}

/** The request body from `--body` and the field flags (flags win). */
function bodyOf(o: FieldOptions): Record<string, unknown> {
  const body: Record<string, unknown> = o.body ? parseJsonObject(o.body, "--body") : {};
  const set = (key: string, value: unknown) => value !== undefined && (body[key] = value);
  set("name", o.name);
  set("url", o.url);
  set("events", o.events);
  set("description", o.description);
  set("filters", o.filters && parseJsonArg(o.filters, "--filters"));
  set("retry_config", o.retryConfig && parseJsonArg(o.retryConfig, "--retry-config"));
  set("format", o.format);
  set("ordering", o.ordering);
  set("headers", o.header);
  set("metadata", o.metadata && parseJsonArg(o.metadata, "--metadata"));
  set("timeout_ms", o.timeoutMs && parsePositiveInt(o.timeoutMs, "--timeout-ms"));
  return body;
}

/** Prints one webhook: JSON as answered, or its fields. */
function showWebhook(out: Output, webhook: Record<string, unknown>) {
  if (out.json) return out.value(webhook);
  out.line(renderRecord(webhook, out.color));
}

/** Registers `rubric webhooks …` on the program. */
export function registerWebhooks(program: Command): void {
  const webhooks = program.command("webhooks").description("manage webhooks (endpoints that receive events)");

  webhooks
    .command("list")
    .description("list webhooks, oldest first (GET /v1/webhooks, every page); --json: the array of webhooks")
    .option("--limit <n>", "at most this many")
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<{ limit?: string }>(command);
      const limit = opts.limit === undefined ? undefined : parsePositiveInt(opts.limit, "--limit");
      const items = await client.webhooks.list({ limit }).toArray();
      if (out.json) return out.value(items);
      out.line(renderTable(COLUMNS(out), items, out.color, "No webhooks yet: rubric webhooks create --help"));
    });

  webhooks
    .command("get")
    .description("show one webhook (GET /v1/webhooks/{id}); --json: the webhook")
    .argument("<id>", "webhook id (wh_…)")
    .action(async (id: string, _opts, command: Command) => {
      const { client, out } = contextOf(command);
      showWebhook(out, await client.webhooks.get(id));
    });

  fieldOptions(
    webhooks
      .command("create")
      .description("create a webhook (POST /v1/webhooks); prints its signing secret, shown only this once; --json: the created webhook")
      .option("--secret <secret>", "the signing secret (default: a generated whsec_…)"),
    true,
  )
    .addHelpText("after", '\nExample:\n  rubric webhooks create --name local --url http://127.0.0.1:9000/hooks --events evaluation.completed,safety.critical \\\n    --retry-config \'{"max_retries": 5, "backoff": "exponential", "initial_delay_ms": 1000}\'')
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<FieldOptions>(command);
      const body = bodyOf(opts);
      if (opts.secret !== undefined) body.secret = opts.secret;
      const missing = ["name", "url", "events"].filter((k) => body[k] === undefined);
      if (missing.length) throw new UsageError(`webhooks create needs ${missing.map((k) => `--${k}`).join(", ")} (or --body with them)`);
      const created = await client.webhooks.create(body as CreateWebhook);
      if (out.json) return out.value(created);
      const { secret, ...rest } = created;
      out.line(renderRecord(rest, out.color));
      out.line(`Signing secret (shown only now): ${out.color.bold(secret)}`);
    });

  fieldOptions(
    webhooks
      .command("update")
      .description("change fields of a webhook (PATCH /v1/webhooks/{id}; null in --body clears a field); --json: the webhook")
      .argument("<id>", "webhook id (wh_…)"),
    false,
  ).action(async (id: string, _opts, command: Command) => {
    const { opts, client, out } = contextOf<FieldOptions>(command);
    const body = bodyOf(opts);
    if (Object.keys(body).length === 0) throw new UsageError("webhooks update needs at least one field to change (see --help)");
    showWebhook(out, await client.webhooks.update(id, body as UpdateWebhook));
  });

  webhooks
    .command("disable")
    .description("stop routing events to a webhook; what it holds waits (POST /v1/webhooks/{id}/disable); --json: the webhook")
    .argument("<id>", "webhook id (wh_…)")
    .option("--reason <text>", "why (kept as disabled_reason)")
    .action(async (id: string, _opts, command: Command) => {
      const { opts, client, out } = contextOf<{ reason?: string }>(command);
      showWebhook(out, await client.webhooks.disable(id, opts.reason === undefined ? {} : { reason: opts.reason }));
    });

  webhooks
    .command("enable")
    .description("route events to a webhook again and send what it held (POST /v1/webhooks/{id}/enable); --json: the webhook")
    .argument("<id>", "webhook id (wh_…)")
    .action(async (id: string, _opts, command: Command) => {
      const { client, out } = contextOf(command);
      showWebhook(out, await client.webhooks.enable(id));
    });

  webhooks
    .command("delete")
    .description("delete a webhook; deliveries still waiting are cancelled (DELETE /v1/webhooks/{id}); --json: {id, deleted, cancelled_deliveries}")
    .argument("<id>", "webhook id (wh_…)")
    .action(async (id: string, _opts, command: Command) => {
      const { client, out } = contextOf(command);
      const result = await client.webhooks.delete(id);
      if (out.json) return out.value(result);
      out.line(`Deleted ${result.id} (${result.cancelled_deliveries} waiting deliveries cancelled)`);
    });

  webhooks
    .command("test")
    .description("send a real test event now, even to a disabled webhook (POST /v1/webhooks/{id}/test); exit 1 if the endpoint failed; --json: the result")
    .argument("<id>", "webhook id (wh_…)")
    .option("--event-type <type>", "the event type", "evaluation.completed")
    .option("--payload <json>", "the event's data as JSON or @file", "{}")
    .action(async (id: string, _opts, command: Command) => {
      const { opts, client, out } = contextOf<{ eventType: string; payload: string }>(command);
      const payload = parseJsonObject(opts.payload, "--payload");
      const result = await client.webhooks.test(id, { event_type: opts.eventType, payload });
      if (out.json) out.value(result);
      else out.line(renderRecord(result, out.color));
      if (result.status !== "success") throw new FailedError(`the endpoint did not accept the test event (${result.response_code ?? result.error})`);
    });
}
