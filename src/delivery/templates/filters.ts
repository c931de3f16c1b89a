/**
 * The filters templates may use, and nothing else: Liquid's built-ins are
 * removed from the engine so the documented list is the whole language.
 * Every filter is total: a value it cannot handle (a word given to `percent`,
 * a missing path) comes back unchanged rather than as NaN, "undefined" or an
 * exception, because a delivery must never fail over a payload's shape.
 */
import { Drop, toValue, type Context } from "liquidjs";
import { formatUtc, isoUtc, parseDateInput } from "./dates";
import { escapeSlack, toText, truncateText } from "./text";

/** What Liquid binds `this` to when it calls a filter. */
export interface FilterThis {
  context: Context;
}

/** A filter: the piped value, then the arguments after `:`. */
export type TemplateFilter = (this: FilterThis, value: unknown, ...args: unknown[]) => unknown;

const NUMBER_TEXT = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*$/i;

/**
 * The number a value stands for: JSON numbers and numeric strings ("0.87").
 * Booleans, empty strings and null are not numbers, although `Number()`
 * would turn them into 1 or 0.
 */
function asNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && NUMBER_TEXT.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** An integer argument clamped to [min, max], or `fallback` when absent or not a number. */
function intArg(arg: unknown, fallback: number, min: number, max: number): number {
  const n = asNumber(arg);
  if (n === null) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

/**
 * `n` with comma thousands separators and `decimals` fixed decimals; with
 * `decimals` null, up to three decimals without trailing zeros.
 */
function formatNumber(n: number, decimals: number | null): string {
  // toFixed switches to exponent notation from 1e21; grouping that would be nonsense.
  if (Math.abs(n) >= 1e21) return String(n);
  let text = decimals === null ? n.toFixed(3).replace(/\.?0+$/, "") : n.toFixed(decimals);
  if (/^-0(?:\.0*)?$/.test(text)) text = text.slice(1); // -0.0001 is "0.0", not "-0.0"
  const [int = "", frac] = text.split(".");
  const sign = int.startsWith("-") ? "-" : "";
  const grouped = int.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + grouped + (frac ? `.${frac}` : "");
}

/** Rounds half away from zero in decimal, so 1.005 rounds to 1.01 as a person expects. */
function roundTo(n: number, decimals: number): number {
  const abs = Math.abs(n);
  // Shifting through the decimal string avoids 1.005 * 100 = 100.49999…
  let result = Number(`${Math.round(Number(`${abs}e${decimals}`))}e-${decimals}`);
  // Numbers already printed in exponent form (1e-7, 1e300) do not survive the string shift.
  if (!Number.isFinite(result)) result = Math.round(abs * 10 ** decimals) / 10 ** decimals;
  if (!Number.isFinite(result)) result = abs;
  return n < 0 && result !== 0 ? -result : result;
}

/** Empty for `default`: missing, null, "" or []. `false` and 0 are real values in a payload. */
const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);

/**
 * `value | percent[: decimals]`: a ratio as a percentage, 1 decimal by
 * default (0.87 → "87.0%", `percent: 0` → "87%").
 */
function percent(this: FilterThis, value: unknown, decimals?: unknown): unknown {
  const n = asNumber(value);
  return n === null ? value : `${formatNumber(n * 100, intArg(decimals, 1, 0, 10))}%`;
}

/** `value | number[: decimals]`: thousands separators ("1,234,567"; `number: 2` → "1,234.50"). */
function number(this: FilterThis, value: unknown, decimals?: unknown): unknown {
  const n = asNumber(value);
  return n === null ? value : formatNumber(n, decimals === undefined ? null : intArg(decimals, 0, 0, 10));
}

/** `value | round[: decimals]`: a number rounded to 0 (default) or more decimals. */
function round(this: FilterThis, value: unknown, decimals?: unknown): unknown {
  const n = asNumber(value);
  return n === null ? value : roundTo(n, intArg(decimals, 0, 0, 10));
}

/** `value | upper`: upper case. */
function upper(this: FilterThis, value: unknown): string {
  return toText(value).toUpperCase();
}

/** `value | lower`: lower case. */
function lower(this: FilterThis, value: unknown): string {
  return toText(value).toLowerCase();
}

/**
 * `value | title`: the first letter of every word in upper case, the rest
 * kept ("patient-triage" → "Patient-Triage", "NASA report" → "NASA Report").
 */
function title(this: FilterThis, value: unknown): string {
  return toText(value).replace(/(^|[\s\-_/])(\p{Ll})/gu, (_m, sep: string, letter: string) => sep + letter.toUpperCase());
}

/**
 * `value | date[: "%b %-d, %Y"]`: an ISO string or epoch (seconds or ms) as
 * ISO-8601 UTC, or in a strftime format, always in UTC. Unparsable input is
 * returned unchanged.
 */
function date(this: FilterThis, value: unknown, format?: unknown): unknown {
  const parsed = parseDateInput(value);
  if (!parsed) return value;
  return typeof format === "string" && format !== "" ? formatUtc(parsed, format) : isoUtc(parsed);
}

/** `value | default: "n/a"`: the fallback when the value is missing, null, "" or []. */
function defaultFilter(this: FilterThis, value: unknown, fallback?: unknown): unknown {
  return isEmpty(value) ? (fallback ?? "") : value;
}

/** `value | json[: indent]`: the value as JSON text (a missing value renders as nothing). */
function json(this: FilterThis, value: unknown, indent?: unknown): string {
  if (value === undefined) return "";
  const text = JSON.stringify(value, null, intArg(indent, 0, 0, 8)) ?? "";
  // A large payload copied many times is the one way a small template grows big.
  this.context.memoryLimit.use(text.length);
  return text;
}

/** `value | truncate: 100[, "…"]`: at most N characters, "…" marking the cut (default 50). */
function truncate(this: FilterThis, value: unknown, length?: unknown, ellipsis?: unknown): string {
  return truncateText(toText(value), intArg(length, 50, 0, 1_000_000), ellipsis === undefined ? "…" : toText(ellipsis));
}

/** `value | escape`: Slack mrkdwn escaping (`&`, `<`, `>` only; quotes are not special in Slack). */
function escape(this: FilterThis, value: unknown): string {
  return escapeSlack(toText(value));
}

/** `value | join[: ", "]`: an array's items as text, separated (", " by default). */
function join(this: FilterThis, value: unknown, separator?: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const text = value.map(toText).join(separator === undefined ? ", " : toText(separator));
  this.context.memoryLimit.use(text.length);
  return text;
}

/**
 * Liquid's literals `nil`, `empty` and `blank` arrive as Drop objects; the
 * filters see the plain value they stand for (null or "").
 */
const plain = (value: unknown): unknown => (value instanceof Drop ? toValue(value) : value);

/** A filter that receives plain values for its input and arguments. */
const withPlainValues =
  (filter: TemplateFilter): TemplateFilter =>
  function (this: FilterThis, value: unknown, ...args: unknown[]) {
    return filter.call(this, plain(value), ...args.map(plain));
  };

/** Every filter a template may use, by name. */
export const TEMPLATE_FILTERS: Readonly<Record<string, TemplateFilter>> = Object.freeze(
  Object.fromEntries(
    Object.entries({ percent, number, round, upper, lower, title, date, default: defaultFilter, json, truncate, escape, join }).map(
      ([name, filter]) => [name, withPlainValues(filter)],
    ),
  ),
);

/** The names of the filters, for documentation and error messages. */
export const FILTER_NAMES: readonly string[] = Object.freeze(Object.keys(TEMPLATE_FILTERS));

/**
 * Liquid's `outputEscape` hook runs on every `{{ }}` result: it turns the
 * value into text the same way everywhere ({@link toText}) and counts it
 * against the render's memory limit, which bounds a body however the
 * template repeats large values.
 */
export function outputText(this: FilterThis, value: unknown): string {
  const text = toText(plain(value));
  this.context.memoryLimit.use(text.length);
  return text;
}
