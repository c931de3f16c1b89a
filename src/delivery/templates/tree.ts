/**
 * Template objects are any JSON: every string leaf is a template, every other
 * leaf passes through. These helpers walk them and name places in them.
 */
import { TEMPLATE_LIMITS } from "./engine";
import { isPlainObject } from "./text";

/** A place in a template object: object keys and array indices from the root. */
export type TreePath = readonly (string | number)[];

/** A path as this API writes it in field names: dotted, array indices as numbers. */
export const dottedPath = (path: TreePath): string => path.join(".");

/** Every string leaf of `value` with its path, in document order. */
export function* stringLeaves(value: unknown, path: TreePath = []): Generator<{ path: TreePath; text: string }> {
  if (typeof value === "string") {
    yield { path, text: value };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* stringLeaves(value[i], [...path, i]);
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) yield* stringLeaves(child, [...path, key]);
  }
}

/**
 * A copy of `value` with each string leaf replaced by `render(text, path)`.
 * Objects are rebuilt with `Object.fromEntries`, which defines keys, so a
 * `"__proto__"` key in a template stays a plain key instead of a prototype.
 */
export function mapStringLeaves(value: unknown, render: (text: string, path: TreePath) => unknown, path: TreePath = []): unknown {
  if (typeof value === "string") return render(value, path);
  if (Array.isArray(value)) return value.map((child, i) => mapStringLeaves(child, render, [...path, i]));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, mapStringLeaves(child, render, [...path, key])]));
  }
  return value;
}

/** Nesting depth of `value` (a scalar is 0), counting no further than `limit + 1`. */
function depthOf(value: unknown, limit: number): number {
  if (limit < 0 || value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) {
    deepest = Math.max(deepest, depthOf(child, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}

/** Why a template object is too big or too deep to accept, or null when it is within bounds. */
export function templateSizeProblem(template: unknown): string | null {
  if (depthOf(template, TEMPLATE_LIMITS.maxDepth) > TEMPLATE_LIMITS.maxDepth) {
    return `nests deeper than ${TEMPLATE_LIMITS.maxDepth} levels`;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(template) ?? "").length;
  if (bytes > TEMPLATE_LIMITS.maxTemplateBytes) {
    return `is ${bytes} bytes as JSON; a template may have at most ${TEMPLATE_LIMITS.maxTemplateBytes}`;
  }
  return null;
}
