/**
 * Which template an event uses, and how template keys relate to the
 * webhook's subscriptions. Keys are written like subscriptions: an exact
 * type, a `prefix.*` wildcard or `*` (see patternMatches).
 */
import { patternMatches } from "../../dispatch/match";
import { isPlainObject } from "./text";

/** A chosen template and the key it was found under. */
export interface SelectedTemplate {
  key: string;
  template: unknown;
}

const isWildcard = (key: string): boolean => key !== "*" && key.endsWith(".*");

/**
 * The template for an event type: the exact type's first, then the longest
 * (most specific) matching wildcard, then `*`; null when none applies.
 */
export function selectTemplate(templates: unknown, type: string): SelectedTemplate | null {
  if (!isPlainObject(templates)) return null;
  if (Object.hasOwn(templates, type)) return { key: type, template: templates[type] };
  let best: string | null = null;
  for (const key of Object.keys(templates)) {
    if (isWildcard(key) && patternMatches(key, type) && (best === null || key.length > best.length)) best = key;
  }
  if (best !== null) return { key: best, template: templates[best] };
  if (Object.hasOwn(templates, "*")) return { key: "*", template: templates["*"] };
  return null;
}

/**
 * Whether some event the webhook receives could use the template under
 * `key`: some type matched by both the key and one of the subscriptions.
 */
export function keyIsReachable(key: string, subscriptions: readonly string[]): boolean {
  if (key === "*") return true;
  return subscriptions.some((sub) => {
    if (sub === "*") return true;
    if (!isWildcard(key)) return patternMatches(sub, key);
    if (!isWildcard(sub)) return patternMatches(key, sub);
    // Two wildcards share types when one prefix contains the other.
    const a = key.slice(0, -1);
    const b = sub.slice(0, -1);
    return a.startsWith(b) || b.startsWith(a);
  });
}

/** Whether the template under `key` applies to every type the subscription pattern `sub` can deliver. */
export function keyCoversPattern(key: string, sub: string): boolean {
  if (key === "*") return true;
  if (sub === "*") return false;
  if (!isWildcard(sub)) return patternMatches(key, sub);
  return isWildcard(key) && sub.startsWith(key.slice(0, -1));
}

const KEY_SYNTAX = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?$/;

/** Whether `key` is written as a template key can be: `*`, `prefix.*` or an event type name. */
export const isTemplateKey = (key: string): boolean => key === "*" || (key.length <= 100 && KEY_SYNTAX.test(key));
