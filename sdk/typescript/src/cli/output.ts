/**
 * How the CLI prints: JSON for scripts (`--json`: exactly what the API
 * answered), tables for people, errors with the API's message, and progress
 * bars only where a person watches (a TTY, never with --json).
 */
import Table from "cli-table3";
import { SingleBar } from "cli-progress";
import pc from "picocolors";
import { APIConnectionError, APIError, RubricError } from "../index.js";

/** Exit codes: 0 done, 1 the API refused or could not be reached (or the work failed), 2 the command line was wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in the command line or its inputs: exit code 2, nothing was sent. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The work was done but did not succeed (a failed test delivery, refused batch items): exit 1 after the output. */
export class FailedError extends Error {
  override name = "FailedError";
}

type Colors = ReturnType<typeof pc.createColors>;

/** Where and how one command prints. */
export interface Output {
  /** `--json`: print the API's JSON, nothing decorative. */
  json: boolean;
  /** Colour functions for standard output (all identity when colour is off). */
  color: Colors;
  /** Writes a line (or lines) to standard output. */
  line(text: string): void;
  /** Writes a note for people to standard error (kept even in --json mode, where stdout is data). */
  note(text: string): void;
  /** One JSON value, pretty for a terminal, compact otherwise (`tail` uses {@link Output.jsonLine}). */
  value(value: unknown): void;
  /** One JSON value on one line (NDJSON). */
  jsonLine(value: unknown): void;
  /** Whether a progress bar may be drawn (stderr is a TTY and not --json). */
  progress: boolean;
}

/** Colour only on a terminal, and never with NO_COLOR or --no-color (FORCE_COLOR forces it). */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env, flag = true): boolean {
  if (!flag || (env.NO_COLOR !== undefined && env.NO_COLOR !== "")) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return !!stream.isTTY && env.TERM !== "dumb";
}

/** The output of a command run with these global options. */
export function makeOutput(opts: { json?: boolean; color?: boolean }, out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Output {
  const json = !!opts.json;
  const color = pc.createColors(colorEnabled(out, process.env, opts.color !== false) && !json);
  return {
    json,
    color,
    line: (text) => void out.write(`${text}\n`),
    note: (text) => void err.write(`${text}\n`),
    value: (value) => void out.write(`${JSON.stringify(value, null, out.isTTY ? 2 : undefined)}\n`),
    jsonLine: (value) => void out.write(`${JSON.stringify(value)}\n`),
    progress: !json && !!err.isTTY,
  };
}

/** A readable local time (`2024-03-15 10:30:05`) from an ISO time; `-` for none. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A cell's text: strings as they are, lists joined, null as `-`, objects as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (Array.isArray(value)) return value.map(cell).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table column: its heading and how to get the cell from a row. */
export interface Column<T> {
  head: string;
  get: (row: T) => unknown;
}

/** A table of rows with a coloured (when on) header; `empty` when there is no row. */
export function renderTable<T>(columns: Column<T>[], rows: T[], color: Colors, empty = "(none)"): string {
  if (rows.length === 0) return empty;
  // cli-table3 colours with its own library unless told not to: picocolors alone decides here.
  const table = new Table({ head: columns.map((c) => color.bold(c.head)), style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => cell(c.get(row))));
  return table.toString();
}

/** A two-column table of one object's fields (`webhooks get`). */
export function renderRecord(record: Record<string, unknown>, color: Colors): string {
  const table = new Table({ style: { head: [], border: [] } });
  for (const [key, value] of Object.entries(record)) {
    const text = key.endsWith("_at") && typeof value === "string" ? formatDate(value) : cell(value);
    table.push({ [color.bold(key)]: text });
  }
  return table.toString();
}

/** A status word coloured by what it means. */
export function colorStatus(status: string, color: Colors): string {
  if (["active", "succeeded", "success", "accepted"].includes(status)) return color.green(status);
  if (["failed", "disabled", "cancelled"].includes(status)) return color.red(status);
  if (["pending", "duplicate"].includes(status)) return color.yellow(status);
  return status;
}

/** A progress bar on standard error, or nothing at all when {@link Output.progress} is false. */
export interface Progress {
  increment(n?: number): void;
  stop(): void;
}

/** Starts a progress bar of `total` steps labelled `label`, if one may be drawn. */
export function startProgress(out: Output, label: string, total: number): Progress {
  if (!out.progress) return { increment() {}, stop() {} };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
  );
  bar.start(total, 0);
  return { increment: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}

/** The wire error body (`{"error": {...}}`) of an API error, as the API sent it. */
export function errorBody(err: APIError): { error: Record<string, unknown> } {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details.length ? { details: err.details } : {}),
      ...(err.requestId ? { request_id: err.requestId } : {}),
    },
  };
}

/**
 * Prints what went wrong to standard error and answers the exit code: the
 * API's error (as JSON with --json), a usage mistake, or anything else.
 */
export function reportError(err: unknown, json: boolean, write: (text: string) => void = (t) => void process.stderr.write(t)): number {
  const color = pc.createColors(!json && colorEnabled(process.stderr));
  if (err instanceof UsageError) {
    write(json ? `${JSON.stringify({ error: { code: "usage", message: err.message } })}\n` : `${color.red("error:")} ${err.message}\n(add --help for usage)\n`);
    return EXIT.usage;
  }
  if (err instanceof FailedError) {
    write(json ? `${JSON.stringify({ error: { code: "failed", message: err.message } })}\n` : `${color.red("failed:")} ${err.message}\n`);
    return EXIT.failure;
  }
  if (err instanceof APIError) {
    if (json) {
      write(`${JSON.stringify(errorBody(err))}\n`);
    } else {
      const details = err.details.map((d) => `\n  ${d.field}: ${d.message}`).join("");
      const id = err.requestId ? color.dim(` (request ${err.requestId})`) : "";
      write(`${color.red(`error: ${err.status} ${err.code}:`)} ${err.message}${details}${id}\n`);
    }
    return EXIT.failure;
  }
  const message = err instanceof RubricError || err instanceof Error ? err.message : String(err);
  const code = err instanceof APIConnectionError ? "connection_failed" : "error";
  write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `${color.red("error:")} ${message}\n`);
  return EXIT.failure;
}
