/**
 * Reading what a user types: JSON arguments (`'{"a":1}'` or `@path`), NDJSON
 * files of events, durations (`30m`, `1h`, `2d`) and times. Pure functions
 * apart from reading the named file, so they are unit-tested directly.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./output.js";

/** The text of `path`, or of standard input for `-`. */
export function readText(path: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path === "-" ? "standard input" : path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * A JSON argument: the text itself, or the contents of a file when it starts
 * with `@` (as curl's `-d @file` does). `what` names the option in errors.
 */
export function parseJsonArg(text: string, what: string, read: (path: string) => string = readText): unknown {
  const source = text.startsWith("@") ? read(text.slice(1)) : text;
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON${text.startsWith("@") ? ` (in ${text.slice(1)})` : ""}: ${(err as Error).message}`);
  }
}

/** A JSON argument that must be an object (a webhook body, filters, metadata…). */
export function parseJsonObject(text: string, what: string, read?: (path: string) => string): Record<string, unknown> {
  const value = parseJsonArg(text, what, read);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * One event per non-blank line. Every line is parsed before anything is sent,
 * so a typo on line 240 refuses the file instead of sending half of it.
 */
export function parseNdjson(text: string, what = "the file"): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new UsageError(`${what}, line ${i + 1}: not valid JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${what}, line ${i + 1}: expected a JSON object (an event)`);
    items.push(value as Record<string, unknown>);
  });
  if (items.length === 0) throw new UsageError(`${what} holds no events`);
  return items;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration such as `500ms`, `30s`, `30m`, `1h`, `2d`, `1w` (also `1h30m`), in ms. */
export function parseDuration(text: string, what = "duration"): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new UsageError(`${what}: expected a duration such as 30s, 30m, 1h or 2d, got ${JSON.stringify(text)}`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * UNIT_MS[unit!]!, 0);
}

/**
 * A point in time as the API wants it (ISO 8601 with an offset): a duration
 * means that long before `now` (`1h` = an hour ago); otherwise an ISO time
 * (a date alone is midnight UTC).
 */
export function parseTime(text: string, what = "time", now: number = Date.now()): string {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d|w)/.test(text.trim())) return new Date(now - parseDuration(text, what)).toISOString();
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${what}: expected a duration (30m, 1h, 2d) or an ISO time (2024-03-15T00:00:00Z), got ${JSON.stringify(text)}`);
  return new Date(ms).toISOString();
}

/** A positive whole number option (`--limit`, `--count`). */
export function parsePositiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive whole number, got ${JSON.stringify(text)}`);
  return n;
}

/** Comma-separated or repeated values (`--events a,b --events c`) as one list. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter(Boolean)];
}

/** `Name: value` header options into an object. */
export function collectHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf(":");
  if (at <= 0) throw new UsageError(`--header expects "Name: value", got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1).trim() };
}
