/**
 * The building blocks of payload filters: paths into the event envelope,
 * the comparison operators and how each one reads a value. Validation,
 * matching and explanation (payload-filter.ts) are all built from these, so
 * the three can never disagree about what a filter means.
 */

/** The comparison operators a payload filter may use. */
export const FILTER_OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"] as const;

/** One comparison operator. */
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** Complexity bounds of a webhook's filters, checked at create time. */
export const FILTER_LIMITS = {
  maxPaths: 20,
  maxPathLength: 200,
  maxSegments: 10,
  maxListItems: 100,
  maxSerializedBytes: 8 * 1024,
} as const;

/** What a path resolves to: a value (possibly `null`), or nothing. */
export type Resolved = { found: true; value: unknown } | { found: false };

// Segments that name the prototype machinery rather than data: never followed, even as own keys.
const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** Whether `op` is one of the comparison operators. */
export const isOperator = (op: string): op is FilterOperator => (FILTER_OPERATORS as readonly string[]).includes(op);

/**
 * Why `path` is not an acceptable payload path, or null if it is. Only
 * `data.*`, `metadata.*`, `type` and `id` may be filtered on: the rest of the
 * envelope is either covered by the seed's filters or not meaningful to match.
 */
export function pathProblem(path: string): string | null {
  if (path.length > FILTER_LIMITS.maxPathLength) return `path is longer than ${FILTER_LIMITS.maxPathLength} characters`;
  if (path === "type" || path === "id") return null;
  if (!path.startsWith("data.") && !path.startsWith("metadata.")) {
    return 'must be "type", "id", or a dotted path starting with "data." or "metadata."';
  }
  const segments = path.split(".");
  if (segments.length > FILTER_LIMITS.maxSegments) return `path has more than ${FILTER_LIMITS.maxSegments} segments`;
  if (segments.some((s) => s === "")) return "path has an empty segment";
  const bad = segments.find((s) => FORBIDDEN_SEGMENTS.has(s));
  if (bad) return `path segment "${bad}" is not allowed`;
  return null;
}

/**
 * Follows a dotted path through the envelope. Numeric segments index arrays;
 * only own properties are followed, so nothing inherited (`toString`, an
 * array's `length`) is ever reachable.
 */
export function resolvePath(root: unknown, path: string): Resolved {
  let current: unknown = root;
  for (const segment of path.split(".")) {
    if (FORBIDDEN_SEGMENTS.has(segment)) return { found: false };
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment) || Number(segment) >= current.length) return { found: false };
      current = current[Number(segment)];
    } else if (current !== null && typeof current === "object") {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return { found: false };
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false };
    }
  }
  // A JSON document has no undefined values; one here means the key was never really set.
  return current === undefined ? { found: false } : { found: true, value: current };
}

/** Deep equality of JSON values: same type, same array order, same object keys (in any order). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => jsonEqual(v, other[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const bo = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual((a as Record<string, unknown>)[k], bo[k]));
}

const ORDER_SYMBOL = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" } as const;
type OrderOperator = keyof typeof ORDER_SYMBOL;

const isOrderOperator = (op: string): op is OrderOperator => Object.prototype.hasOwnProperty.call(ORDER_SYMBOL, op);

/** Numbers order with numbers and strings with strings (so ISO dates order by time); nothing else orders. */
function comparable(a: unknown, b: unknown): boolean {
  return (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
}

// Only called once comparable() said both sides are numbers or both strings.
function ordered(op: OrderOperator, a: unknown, b: unknown): boolean {
  const [x, y] = [a as number | string, b as number | string];
  if (op === "$gt") return x > y;
  if (op === "$gte") return x >= y;
  if (op === "$lt") return x < y;
  return x <= y;
}

/** A JSON rendering of a value for explanations, shortened so one huge field cannot flood the answer. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const kind = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;

/**
 * Whether one operator holds for what the path resolved to. A missing path
 * fails every operator except `$exists: false`, `$ne` and `$nin`: unlike the
 * seed's attribute filters, a payload filter on a field the event lacks does
 * exclude it. Assumes a valid operand (see operandProblem).
 */
export function operatorPasses(op: FilterOperator, operand: unknown, resolved: Resolved): boolean {
  if (op === "$exists") return resolved.found === operand;
  if (!resolved.found) return op === "$ne" || op === "$nin";
  const value = resolved.value;
  if (op === "$eq") return jsonEqual(value, operand);
  if (op === "$ne") return !jsonEqual(value, operand);
  if (op === "$in") return (operand as unknown[]).some((item) => jsonEqual(value, item));
  if (op === "$nin") return !(operand as unknown[]).some((item) => jsonEqual(value, item));
  return comparable(value, operand) && ordered(op, value, operand);
}

/**
 * Says in words why an operator held or not, for the filter_test answer,
 * e.g. `data.summary.triage_accuracy is 0.87, which is not < 0.8`. Kept apart
 * from operatorPasses so matching on the hot path never builds these strings.
 */
export function describeOperator(path: string, op: FilterOperator, operand: unknown, resolved: Resolved): string {
  if (op === "$exists") return resolved.found ? `${path} exists (its value is ${show(resolved.value)})` : `${path} is missing`;
  if (!resolved.found) {
    if (op === "$ne") return `${path} is missing, so it is not equal to ${show(operand)}`;
    if (op === "$nin") return `${path} is missing, so it is not one of ${show(operand)}`;
    return `${path} is missing`;
  }
  const value = resolved.value;
  const is = `${path} is ${show(value)}`;
  if (op === "$eq" || op === "$ne") {
    return jsonEqual(value, operand) ? `${is}, which equals ${show(operand)}` : `${is}, which is not equal to ${show(operand)}`;
  }
  if (op === "$in" || op === "$nin") {
    const member = (operand as unknown[]).some((item) => jsonEqual(value, item));
    return `${is}, which is ${member ? "" : "not "}one of ${show(operand)}`;
  }
  if (!comparable(value, operand)) {
    return `${is} (${kind(value)}), which cannot be compared with ${show(operand)} (${kind(operand)})`;
  }
  return `${is}, which is ${ordered(op, value, operand) ? "" : "not "}${ORDER_SYMBOL[op]} ${show(operand)}`;
}

/** Why `operand` is not acceptable for `op`, or null if it is. */
export function operandProblem(op: FilterOperator, operand: unknown): string | null {
  if (op === "$exists") return typeof operand === "boolean" ? null : "$exists needs a boolean (true or false)";
  if (op === "$in" || op === "$nin") {
    if (!Array.isArray(operand) || operand.length === 0) return `${op} needs a non-empty array`;
    if (operand.length > FILTER_LIMITS.maxListItems) return `${op} takes at most ${FILTER_LIMITS.maxListItems} values`;
    return null;
  }
  if (isOrderOperator(op)) {
    if (typeof operand === "string") return null;
    if (typeof operand === "number" && Number.isFinite(operand)) return null;
    return `${op} needs a number or a string`;
  }
  // $eq and $ne compare with any JSON value, null included.
  return operand === undefined ? `${op} needs a value` : null;
}
