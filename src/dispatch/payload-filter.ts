/**
 * Payload filters: comparisons on paths into the event envelope, next to the
 * seed's attribute filters (`projects`, `severity`), which match.ts evaluates.
 *
 *   { "projects": ["patient-triage"],
 *     "data.summary.triage_accuracy": { "$lt": 0.8 },
 *     "metadata.model_version": { "$in": ["triage-v2.4"] },
 *     "data.status": "completed" }            // a bare value means $eq
 *
 * Every key must hold; several operators on one path must all hold.
 */
import type { FieldIssue } from "../lib/errors";
import { ATTRIBUTE_FILTER_KEYS, eventAttributes, filtersMatch, type AttributeFilterKey } from "./match";
import {
  describeOperator,
  FILTER_LIMITS,
  FILTER_OPERATORS,
  isOperator,
  operandProblem,
  operatorPasses,
  pathProblem,
  resolvePath,
  show,
} from "./payload-filter-ops";

export { FILTER_LIMITS, FILTER_OPERATORS, type FilterOperator } from "./payload-filter-ops";

/**
 * The event as filters see it: the receiver's envelope, plus the ingest
 * body's `project_id`/`severity` for the seed's filters (which otherwise read
 * them from `data`, as match.ts's eventAttributes does).
 */
export interface FilterableEvent {
  id?: string;
  type?: string;
  created_at?: string;
  data?: unknown;
  metadata?: unknown;
  project_id?: string | null;
  severity?: string | null;
}

/** Why one filter passed or not, as the filter_test endpoint reports it. */
export interface FilterReason {
  /** The filter: a seed key, a path (bare value), or `path.$op`. */
  filter: string;
  passed: boolean;
  detail: string;
}

/** The filter_test answer: whether the event matches, and each filter's verdict. */
export interface FilterExplanation {
  matches: boolean;
  reasons: FilterReason[];
}

// The event attribute each seed key reads, for explanations. Typed by match.ts's keys so a new seed key must be added here.
const SEED_ATTRIBUTE: Record<AttributeFilterKey, "project_id" | "severity"> = { projects: "project_id", severity: "severity" };
const SEED_LIMITS = { maxItems: 100, maxLength: 200 } as const;
const MAX_ISSUES = 50;

const isSeedKey = (key: string): key is AttributeFilterKey => (ATTRIBUTE_FILTER_KEYS as string[]).includes(key);
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A path's value as a list of `[operator, operand]` conditions. An object with
 * `$` keys is an operator object; anything else (including an object without
 * `$` keys) is a bare value compared with `$eq`.
 */
function conditionsOf(value: unknown): { bare: boolean; conditions: Array<[string, unknown]> } {
  if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith("$"))) {
    return { bare: false, conditions: Object.entries(value) };
  }
  return { bare: true, conditions: [["$eq", value]] };
}

/** Whether `filters` holds anything besides the seed's keys, so callers can skip parsing the payload when not. */
export function hasPayloadFilters(filters: Record<string, unknown> | null | undefined): boolean {
  return isPlainObject(filters) && Object.keys(filters).some((k) => !isSeedKey(k));
}

function seedIssues(key: AttributeFilterKey, value: unknown): FieldIssue[] {
  const field = `filters.${key}`;
  if (!Array.isArray(value) || value.length === 0 || value.length > SEED_LIMITS.maxItems) {
    return [{ field, message: `must be an array of 1 to ${SEED_LIMITS.maxItems} strings` }];
  }
  return value.flatMap((item, i) =>
    typeof item === "string" && item.length > 0 && item.length <= SEED_LIMITS.maxLength
      ? []
      : [{ field: `${field}.${i}`, message: `must be a non-empty string of at most ${SEED_LIMITS.maxLength} characters` }],
  );
}

function pathIssues(path: string, value: unknown): FieldIssue[] {
  const field = `filters.${path}`;
  if (isPlainObject(value) && Object.keys(value).length === 0) {
    return [{ field, message: `needs at least one operator (${FILTER_OPERATORS.join(", ")}); to match an empty object use {"$eq": {}}` }];
  }
  const { conditions } = conditionsOf(value);
  return conditions.flatMap(([op, operand]): FieldIssue[] => {
    if (!op.startsWith("$")) {
      return [{ field: `${field}.${op}`, message: 'cannot mix operators with plain keys; to match an object use {"$eq": {...}}' }];
    }
    if (!isOperator(op)) {
      return [{ field: `${field}.${op}`, message: `unknown operator "${op}"; valid operators are ${FILTER_OPERATORS.join(", ")}` }];
    }
    const problem = operandProblem(op, operand);
    return problem ? [{ field: `${field}.${op}`, message: problem }] : [];
  });
}

/**
 * Checks a webhook's `filters` at create/update time. Accepts the seed's keys
 * (arrays of 1–100 non-empty strings) and payload paths with valid operators
 * and operands, within FILTER_LIMITS. `null`/absent filters are fine.
 */
export function validatePayloadFilters(filters: unknown): FieldIssue[] {
  if (filters === null || filters === undefined) return [];
  if (!isPlainObject(filters)) return [{ field: "filters", message: "must be an object" }];
  let text: string;
  try {
    text = JSON.stringify(filters);
  } catch {
    return [{ field: "filters", message: "must be plain JSON" }];
  }
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > FILTER_LIMITS.maxSerializedBytes) {
    // Stop here: a body this size is not worth walking key by key.
    return [{ field: "filters", message: `is ${bytes} bytes when serialized; at most ${FILTER_LIMITS.maxSerializedBytes} are allowed` }];
  }
  const issues: FieldIssue[] = [];
  const paths = Object.keys(filters).filter((k) => !isSeedKey(k));
  if (paths.length > FILTER_LIMITS.maxPaths) {
    issues.push({ field: "filters", message: `has ${paths.length} payload paths; at most ${FILTER_LIMITS.maxPaths} are allowed` });
  }
  for (const [key, value] of Object.entries(filters)) {
    if (isSeedKey(key)) {
      issues.push(...seedIssues(key, value));
      continue;
    }
    const problem = pathProblem(key);
    if (problem) issues.push({ field: `filters.${key.slice(0, FILTER_LIMITS.maxPathLength)}`, message: problem });
    else issues.push(...pathIssues(key, value));
  }
  return issues.slice(0, MAX_ISSUES);
}

/**
 * Whether the event passes the payload-path filters. The seed's keys are
 * skipped: match.ts's filtersMatch (via webhookMatches) decides those. A key
 * or operator that is not valid fails closed, so filters stored before a rule
 * tightened never widen who receives an event. No filters → true.
 */
export function payloadFiltersMatch(filters: Record<string, unknown> | null | undefined, envelope: FilterableEvent): boolean {
  if (!isPlainObject(filters)) return true;
  for (const [key, value] of Object.entries(filters)) {
    if (isSeedKey(key)) continue;
    if (pathProblem(key)) return false;
    const resolved = resolvePath(envelope, key);
    for (const [op, operand] of conditionsOf(value).conditions) {
      if (!isOperator(op) || operandProblem(op, operand)) return false;
      if (!operatorPasses(op, operand, resolved)) return false;
    }
  }
  return true;
}

function explainSeed(key: AttributeFilterKey, allowed: unknown, envelope: FilterableEvent): FilterReason {
  const attrs = eventAttributes({ project_id: envelope.project_id, severity: envelope.severity, data: envelope.data });
  const passed = filtersMatch({ [key]: allowed }, { type: envelope.type ?? "", ...attrs });
  const name = SEED_ATTRIBUTE[key];
  const value = name === "project_id" ? attrs.projectId : attrs.severity;
  let detail: string;
  if (!Array.isArray(allowed)) detail = "is not a list of values, so it is ignored";
  else if (value == null) detail = `the event has no ${name}, so this filter does not apply`;
  else detail = `${name} is ${show(value)}, which is ${passed ? "" : "not "}one of ${show(allowed)}`;
  return { filter: key, passed, detail };
}

function explainPath(path: string, value: unknown, envelope: FilterableEvent): FilterReason[] {
  const problem = pathProblem(path);
  if (problem) return [{ filter: path, passed: false, detail: `not a valid filter: ${problem}` }];
  const resolved = resolvePath(envelope, path);
  const { bare, conditions } = conditionsOf(value);
  return conditions.map(([op, operand]) => {
    const filter = bare ? path : `${path}.${op}`;
    if (!isOperator(op)) return { filter, passed: false, detail: `unknown operator "${op}"` };
    const invalid = operandProblem(op, operand);
    if (invalid) return { filter, passed: false, detail: `not a valid filter: ${invalid}` };
    return { filter, passed: operatorPasses(op, operand, resolved), detail: describeOperator(path, op, operand, resolved) };
  });
}

/**
 * Every filter's verdict on the event, seed keys included (with match.ts's
 * semantics: an attribute the event lacks does not exclude it), for
 * `POST /v1/webhooks/{id}/filter_test`. `matches` equals
 * `filtersMatch(...) && payloadFiltersMatch(...)`; event type patterns are
 * not considered here.
 */
export function explainFilters(filters: Record<string, unknown> | null | undefined, envelope: FilterableEvent): FilterExplanation {
  if (!isPlainObject(filters)) return { matches: true, reasons: [] };
  const reasons = Object.entries(filters).flatMap(([key, value]) =>
    isSeedKey(key) ? [explainSeed(key, value, envelope)] : explainPath(key, value, envelope),
  );
  return { matches: reasons.every((r) => r.passed), reasons };
}
