/** Rendering a whole template object over an event envelope. */
import { compileTemplate, createRenderSession, renderCompiled, templateError, type TemplateProblem } from "./engine";
import { dottedPath, mapStringLeaves, templateSizeProblem, type TreePath } from "./tree";

/** What templates see: the event as its receiver would (the seed's payload), already parsed. */
export interface EventEnvelope {
  id: string;
  type: string;
  /** ISO-8601 UTC, as on the wire. */
  created_at: string;
  data: unknown;
  metadata: unknown;
}

/**
 * How errors name a place in a template: the template's key (event type or
 * pattern), the path to the string inside it, and the line and column.
 */
export function describeTemplateProblem(key: string, path: TreePath, message: string, at?: TemplateProblem): string {
  const where = path.length > 0 ? ` at ${dottedPath(path)}` : "";
  const position = at ? `, line ${at.line}, column ${at.column}` : "";
  return `template "${key}"${where}${position}: ${message}`;
}

/**
 * Renders every string leaf of `template` over the envelope; numbers,
 * booleans, null and the structure pass through unchanged. Returns a new
 * value: the caller serialises it, so rendered quotes or newlines can never
 * break the JSON. Throws a TemplateError naming `key` and the place.
 */
export function renderTemplateTree(template: unknown, envelope: EventEnvelope, key: string): unknown {
  const tooBig = templateSizeProblem(template);
  if (tooBig) throw templateError(describeTemplateProblem(key, [], tooBig));
  // One session for the whole object: the render limits apply to the body, not per string.
  const session = createRenderSession({
    id: envelope.id,
    type: envelope.type,
    created_at: envelope.created_at,
    data: envelope.data,
    metadata: envelope.metadata,
  });
  return mapStringLeaves(template, (text, path) => {
    if (!text.includes("{")) return text; // plain text: nothing to parse
    const compiled = compileTemplate(text);
    if (!compiled.ok) throw templateError(describeTemplateProblem(key, path, compiled.problem.message, compiled.problem));
    try {
      return renderCompiled(compiled.template, session);
    } catch (error) {
      throw templateError(describeTemplateProblem(key, path, error instanceof Error ? error.message : String(error)));
    }
  });
}

/**
 * Renders one template string over `scope` (an envelope, or any object for
 * previews and tests). Throws a TemplateError on a syntax error or limit.
 */
export function renderTemplateString(source: string, scope: object): string {
  const compiled = compileTemplate(source);
  if (!compiled.ok) throw templateError(describeTemplateProblem("(string)", [], compiled.problem.message, compiled.problem));
  return renderCompiled(compiled.template, createRenderSession(scope));
}
