/** The built-in event catalogue: the seed's eight types and the operational ones. */

/** Event types every account can subscribe to and emit, with their descriptions. */
export const BUILTIN_EVENT_TYPES: Record<string, string> = {
  "evaluation.created": "New evaluation started",
  "evaluation.completed": "Evaluation finished",
  "evaluation.failed": "Evaluation errored",
  "sample.scored": "Sample received score",
  "review.assigned": "Sample assigned for review",
  "review.completed": "Human review submitted",
  "alert.triggered": "Monitoring alert fired",
  "safety.critical": "Critical safety issue detected",
  "webhook.disabled": "A webhook was disabled (operational)",
  "delivery.exhausted": "A delivery ran out of retries (operational)",
};

/** Types only the service itself emits; producers cannot send them. */
export const OPERATIONAL_EVENT_TYPES = new Set(["webhook.disabled", "delivery.exhausted"]);

const TYPE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** Whether `name` is a well-formed event type name (`word.word`, lower case). */
export const isEventTypeName = (name: string): boolean => name.length <= 100 && TYPE_NAME.test(name);

/**
 * Whether a subscription pattern is acceptable: `*`, a known type, or
 * `prefix.*` where some known type starts with `prefix.`.
 */
export function isKnownPattern(pattern: string, known: Iterable<string>): boolean {
  if (pattern === "*") return true;
  const types = [...known];
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1);
    return types.some((t) => t.startsWith(prefix));
  }
  return types.includes(pattern);
}
