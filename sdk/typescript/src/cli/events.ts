/**
 * `rubric events send`: one event (POST /v1/events) or an NDJSON file of them
 * in batches of 100 (POST /v1/events/batch), with the SDK's idempotency keys.
 */
import type { Command } from "commander";
import { APIError, type BatchEvent, type Rubric, type SendEvent } from "../index.js";
import { contextOf } from "./config.js";
import { parseJsonObject, parseNdjson, readText } from "./input.js";
import { errorBody, FailedError, renderRecord, startProgress, UsageError, type Progress } from "./output.js";

/** The API's largest batch. */
export const BATCH_SIZE = 100;

interface SendOptions {
  type?: string;
  data?: string;
  metadata?: string;
  projectId?: string;
  severity?: string;
  idempotencyKey?: string;
  file?: string;
}

/** What sending a file came to: every item's result (index = position in the file) and the refused batches. */
export interface BatchReport {
  accepted: number;
  duplicate: number;
  failed: number;
  data: { index: number; id: string; status: "accepted" | "duplicate" }[];
  errors: { from: number; to: number; error: ReturnType<typeof errorBody>["error"] }[];
}

/**
 * Sends `events` in batches of {@link BATCH_SIZE}, one after another. A batch
 * the API refuses (validated all or nothing) counts its items as failed and the
 * next batch is still sent; any other error (network, auth) stops the run.
 */
export async function sendInBatches(client: Rubric, events: BatchEvent[], progress: Progress = { increment() {}, stop() {} }): Promise<BatchReport> {
  const report: BatchReport = { accepted: 0, duplicate: 0, failed: 0, data: [], errors: [] };
  for (let from = 0; from < events.length; from += BATCH_SIZE) {
    const batch = events.slice(from, from + BATCH_SIZE);
    try {
      const result = await client.events.sendBatch(batch);
      for (const item of result.data) {
        report.data.push({ ...item, index: from + item.index });
        report[item.status] += 1;
      }
    } catch (err) {
      if (!(err instanceof APIError) || err.status === 401 || err.status === 403) throw err;
      report.failed += batch.length;
      report.errors.push({ from, to: from + batch.length - 1, error: errorBody(err).error });
    }
    progress.increment(batch.length);
  }
  return report;
}

/** Registers `rubric events …` on the program. */
export function registerEvents(program: Command): void {
  const events = program.command("events").description("send events");

  events
    .command("send")
    .description("send one event (POST /v1/events), or every line of an NDJSON file in batches of 100 (POST /v1/events/batch)")
    .option("--type <type>", "the event type, e.g. evaluation.completed")
    .option("--data <json>", "the event's data as JSON, or @file")
    .option("--metadata <json>", "metadata as JSON, or @file")
    .option("--project-id <id>", "the event's project_id")
    .option("--severity <severity>", "the event's severity")
    .option("--idempotency-key <key>", "Idempotency-Key (default: a random one, reused by the SDK's retries)")
    .option("--file <path>", "NDJSON: one event object per line ({type, data, metadata?, project_id?, severity?, idempotency_key?}); - reads stdin")
    .addHelpText(
      "after",
      `
Output with --json: one event, the API's 202 answer (the event). With --file:
{"accepted": n, "duplicate": n, "failed": n, "data": [{index, id, status}], "errors": [{from, to, error}]},
index being the line's position among the file's events (0-based). Exit 1 if any batch was refused.

Examples:
  rubric events send --type evaluation.completed --data '{"evaluation_id": "eval_1", "project_id": "patient-triage"}'
  rubric events send --type evaluation.completed --data @event.json --idempotency-key eval_1-completed
  rubric events send --file events.ndjson`,
    )
    .action(async (_opts, command: Command) => {
      const { opts, client, out } = contextOf<SendOptions>(command);
      if (opts.file !== undefined) {
        const single = (["type", "data", "metadata", "projectId", "severity", "idempotencyKey"] as const).filter((k) => opts[k] !== undefined);
        if (single.length) throw new UsageError("--file sends the file's events: it cannot be combined with --type, --data or the other single-event flags");
        const items = parseNdjson(readText(opts.file), opts.file === "-" ? "standard input" : opts.file) as BatchEvent[];
        const progress = startProgress(out, "Sending", items.length);
        let report: BatchReport;
        try {
          report = await sendInBatches(client, items, progress);
        } finally {
          progress.stop();
        }
        if (out.json) out.value(report);
        else {
          out.line(`${out.color.green(`${report.accepted} accepted`)}, ${report.duplicate} duplicate, ${report.failed ? out.color.red(`${report.failed} failed`) : "0 failed"} (of ${items.length})`);
          for (const e of report.errors) out.line(`  events ${e.from}-${e.to}: ${e.error.code}: ${e.error.message}`);
        }
        if (report.failed) throw new FailedError(`${report.failed} of ${items.length} events were refused`);
        return;
      }
      if (opts.type === undefined || opts.data === undefined) throw new UsageError("events send needs --type and --data (or --file)");
      const params: SendEvent = { type: opts.type, data: parseJsonObject(opts.data, "--data") };
      if (opts.metadata !== undefined) params.metadata = parseJsonObject(opts.metadata, "--metadata");
      if (opts.projectId !== undefined) params.project_id = opts.projectId;
      if (opts.severity !== undefined) params.severity = opts.severity;
      const event = await client.events.send(params, opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey });
      if (out.json) return out.value(event);
      out.line(renderRecord(event, out.color));
    });
}
