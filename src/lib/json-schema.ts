/**
 * JSON schemas of custom event types: checked when the type is registered,
 * applied to each event's `data` at ingest. @cfworker/json-schema interprets
 * schemas without generating code (Workers forbid eval/new Function, so Ajv
 * cannot run) and fetches nothing: only local `#...` references are allowed.
 */
import { dereference, Validator, type OutputUnit, type Schema, type SchemaDraft } from "@cfworker/json-schema";
import type { FieldIssue } from "./errors";

/** Bounds on a registered schema and on what validation reports. */
export const SCHEMA_LIMITS = { maxSerializedBytes: 32 * 1024, maxDepth: 64, maxIssues: 20 } as const;

// `$schema` URIs we accept (scheme and trailing `#` ignored), and the draft each selects.
const DRAFTS: Record<string, SchemaDraft> = {
  "json-schema.org/draft/2020-12/schema": "2020-12",
  "json-schema.org/draft-07/schema": "7",
};
// Keywords the library does not implement (or implements for another draft): refuse rather than silently ignore.
const UNSUPPORTED = ["$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"];
// Where subschemas live, by keyword shape; enum/const/default/examples hold data, never schemas.
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"]);
const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf", "prefixItems", "items"]);
const DATA_KEYWORDS = new Set(["enum", "const", "default", "examples"]);
// Applicators that re-validate the same instance: a cycle through these alone never terminates.
const IN_PLACE = ["allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "dependencies"];
// Errors that only announce their subschema's errors, which follow them in the list.
const WRAPPERS = new Set([
  "$ref", "properties", "patternProperties", "additionalProperties", "unevaluatedProperties", "items", "prefixItems",
  "additionalItems", "unevaluatedItems", "allOf", "if", "dependentSchemas", "dependencies",
]);
// Errors that sum up their branches better than the branches' own errors would.
const SUMMARIES = new Set(["anyOf", "oneOf", "contains", "propertyNames"]);

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";

/** The draft `$schema` names (2020-12 when absent), or null for one we do not accept. */
function draftOf(schema: JsonObject): SchemaDraft | null {
  if (schema.$schema === undefined) return "2020-12";
  if (typeof schema.$schema !== "string") return null;
  return DRAFTS[schema.$schema.replace(/^https?:\/\//, "").replace(/#$/, "")] ?? null;
}

/**
 * What a schema may look like, as a schema the library can apply: the
 * keyword shapes of draft 2020-12 (plus draft 7's array `items` and
 * `dependencies`). Built per call because the library annotates schemas it
 * compiles, and a shared constant would be module-level mutable state.
 */
function metaSchema(draft: SchemaDraft): Schema {
  const self = (): Schema => ({ $ref: "#" });
  const str: Schema = { type: "string" };
  const bool: Schema = { type: "boolean" };
  const num: Schema = { type: "number" };
  const count: Schema = { type: "integer", minimum: 0 };
  const list = (): Schema => ({ type: "array", minItems: 1, items: self() });
  const map = (): Schema => ({ type: "object", additionalProperties: self() });
  const names: Schema = { type: "array", items: str, uniqueItems: true };
  const typeName: Schema = { enum: ["array", "boolean", "integer", "null", "number", "object", "string"] };
  const properties: Record<string, Schema> = {
    type: { type: ["string", "array"], if: str, then: typeName, items: typeName, minItems: 1, uniqueItems: true },
    items: draft === "7" ? { if: { type: "array" }, then: list(), else: self() } : self(),
    patternProperties: { ...map(), propertyNames: { format: "regex" } },
    pattern: { type: "string", format: "regex" },
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    dependencies: { type: "object", additionalProperties: { if: { type: "array" }, then: names, else: self() } },
    dependentRequired: { type: "object", additionalProperties: names },
    required: names,
    enum: { type: "array" },
    examples: { type: "array" },
  };
  const byShape: Array<[Schema | (() => Schema), string[]]> = [
    [str, ["$id", "$schema", "$ref", "$anchor", "$comment", "title", "description", "format", "contentEncoding", "contentMediaType"]],
    [bool, ["uniqueItems", "deprecated", "readOnly", "writeOnly"]],
    [num, ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]],
    [count, ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"]],
    [map, ["$defs", "definitions", "properties", "dependentSchemas"]],
    [list, ["allOf", "anyOf", "oneOf", "prefixItems"]],
    [
      self,
      ["not", "if", "then", "else", "contains", "propertyNames", "additionalProperties", "unevaluatedProperties"]
        .concat(["additionalItems", "unevaluatedItems", "contentSchema"]),
    ],
  ];
  for (const [shape, keys] of byShape) for (const k of keys) properties[k] = typeof shape === "function" ? shape() : shape;
  return { type: ["object", "boolean"], properties };
}

/** `#/a/b~1c/0` (a URI-encoded JSON pointer) → `<root>.a.b/c.0`. */
function dotted(root: string, pointer: string): string {
  const segments = pointer.replace(/^#\/?/, "").split("/").filter((s) => s !== "");
  const unescape = (segment: string) => {
    let text = segment;
    try {
      text = decodeURIComponent(segment);
    } catch {
      // Not valid percent-encoding: show the segment as it is.
    }
    return text.replace(/~1/g, "/").replace(/~0/g, "~");
  };
  return [root, ...segments.map(unescape)].join(".");
}

/**
 * The library's errors as field issues: wrappers ("Property x does not match
 * schema.") give way to the errors they announce, anyOf/oneOf keep only
 * their summary, and a `false` subschema reads as "not allowed".
 */
function toIssues(errors: OutputUnit[], root: string): FieldIssue[] {
  const inside = (child: OutputUnit | undefined, parent: OutputUnit): boolean => {
    if (child === undefined) return false;
    // The library gives a `false` schema's error its instance location as keyword location.
    if (child.keyword === "false") return child.instanceLocation.startsWith(parent.instanceLocation);
    // A failed then/else is reported at `.../if`, its errors at `.../then/...` or `.../else/...`.
    const scopes =
      parent.keyword === "if" ? ["then", "else"].map((k) => parent.keywordLocation.replace(/if$/, k)) : [parent.keywordLocation];
    return scopes.some((scope) => child.keywordLocation.startsWith(`${scope}/`));
  };
  const issues: FieldIssue[] = [];
  for (let i = 0; i < errors.length && issues.length < SCHEMA_LIMITS.maxIssues; i++) {
    const e = errors[i]!;
    if (SUMMARIES.has(e.keyword)) while (inside(errors[i + 1], e)) i++;
    else if (WRAPPERS.has(e.keyword) && inside(errors[i + 1], e)) continue;
    const message = e.keyword === "false" ? "is not allowed by the schema" : e.error;
    const field = dotted(root, e.instanceLocation);
    if (!issues.some((x) => x.field === field && x.message === message)) issues.push({ field, message });
  }
  return issues;
}

/**
 * Whether objects and arrays nest deeper than `max`. Iterative, because the
 * point is to refuse documents that would exhaust the stack of the (recursive)
 * library and of walk() below.
 */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Calls `visit` on every subschema with its path, the way the library reads them. */
function walk(node: unknown, path: string[], visit: (schema: JsonObject, path: string[]) => void): void {
  if (!isObject(node)) return;
  visit(node, path);
  for (const [key, value] of Object.entries(node)) {
    if (DATA_KEYWORDS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) walk(sub, [...path, key, name], visit);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      value.forEach((sub, i) => walk(sub, [...path, key, String(i)], visit));
    } else {
      walk(value, [...path, key], visit);
    }
  }
}

/** References that are not local, point nowhere, or loop without consuming the instance; unsupported keywords. */
function structureIssues(schema: JsonObject): FieldIssue[] {
  const lookup = dereference(schema);
  const target = (node: JsonObject) => lookup[(node.__absolute_ref__ as string | undefined) ?? String(node.$ref)];
  const issues: FieldIssue[] = [];
  const at = (path: string[], key: string) => ["schema", ...path, key].join(".");
  walk(schema, [], (node, path) => {
    for (const key of UNSUPPORTED) if (key in node) issues.push({ field: at(path, key), message: "is not supported" });
    if (typeof node.$ref !== "string") return;
    if (!node.$ref.startsWith("#")) {
      issues.push({ field: at(path, "$ref"), message: 'remote references are not allowed; use a local "#/..." reference' });
    } else if (target(node) === undefined) {
      issues.push({ field: at(path, "$ref"), message: "does not point to a subschema of this schema" });
    }
  });
  if (issues.length > 0) return issues.slice(0, SCHEMA_LIMITS.maxIssues);
  // Depth-first search for a cycle of $ref and in-place applicators (e.g. `{"$ref": "#"}` at the root).
  const state = new Map<object, "open" | "done">();
  const cycles = (node: unknown): boolean => {
    if (!isObject(node) || state.get(node) === "done") return false;
    if (state.get(node) === "open") return true;
    state.set(node, "open");
    const next = [typeof node.$ref === "string" ? target(node) : undefined];
    for (const k of IN_PLACE) {
      const v = node[k];
      next.push(...(Array.isArray(v) ? v : k.startsWith("depend") && isObject(v) ? Object.values(v) : [v]));
    }
    const found = next.some(cycles);
    state.set(node, "done");
    return found;
  };
  let looping = false;
  walk(schema, [], (node) => {
    looping ||= cycles(node);
  });
  return looping ? [{ field: "schema", message: "has a reference cycle that never reaches a property or item" }] : [];
}

/**
 * Checks a custom event type's schema before it is stored: a JSON object of
 * at most 32 KiB, draft 2020-12 (default) or 7, well-formed keywords, root
 * `type` "object" if given (event data is an object), and only local
 * references that resolve. Issues name `schema` or `schema.<path>`.
 */
export function checkSchema(schema: unknown): FieldIssue[] {
  if (!isObject(schema)) return [{ field: "schema", message: "must be a JSON object" }];
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch {
    return [{ field: "schema", message: "must be plain JSON" }];
  }
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > SCHEMA_LIMITS.maxSerializedBytes) {
    return [{ field: "schema", message: `is ${bytes} bytes when serialized; at most ${SCHEMA_LIMITS.maxSerializedBytes} are allowed` }];
  }
  if (nestedDeeperThan(schema, SCHEMA_LIMITS.maxDepth)) {
    return [{ field: "schema", message: `nests objects and arrays deeper than ${SCHEMA_LIMITS.maxDepth} levels` }];
  }
  const draft = draftOf(schema);
  if (!draft) {
    const accepted = '"https://json-schema.org/draft/2020-12/schema" or "http://json-schema.org/draft-07/schema#"';
    return [{ field: "schema.$schema", message: `must be ${accepted}` }];
  }
  let meta;
  try {
    meta = new Validator(metaSchema(draft), "2020-12", false).validate(schema);
  } catch (e) {
    return [{ field: "schema", message: `cannot be checked: ${firstLine(e)}` }];
  }
  if (!meta.valid) return toIssues(meta.errors, "schema");
  const type = schema.type;
  if (type !== undefined && type !== "object" && !(Array.isArray(type) && type.includes("object"))) {
    return [{ field: "schema.type", message: 'must be "object": an event\'s data is always a JSON object' }];
  }
  // A private copy: the library annotates the schemas it compiles.
  const copy = JSON.parse(text) as JsonObject;
  try {
    const issues = structureIssues(copy);
    if (issues.length > 0) return issues;
    // A trial run, so anything else the library would throw on surfaces now rather than at ingest.
    new Validator(copy, draft, false).validate({});
  } catch (e) {
    return [{ field: "schema", message: `cannot be used: ${firstLine(e)}` }];
  }
  return [];
}

/**
 * Validates an event's `data` against a schema that passed checkSchema.
 * Issues name `data.<dotted instance path>` with the library's message, at
 * most 20. A schema that cannot be applied yields one issue on `data`
 * rather than an exception, so ingest answers 422 instead of 500.
 */
export function validateAgainstSchema(schema: unknown, data: unknown): FieldIssue[] {
  if (!isObject(schema)) {
    return [{ field: "data", message: "cannot be validated: the event type's schema is not a JSON object" }];
  }
  try {
    const copy = JSON.parse(JSON.stringify(schema)) as JsonObject;
    const result = new Validator(copy, draftOf(copy) ?? "2020-12", false).validate(data);
    return result.valid ? [] : toIssues(result.errors, "data");
  } catch (e) {
    return [{ field: "data", message: `could not be validated against the schema: ${firstLine(e)}` }];
  }
}
