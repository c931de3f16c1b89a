/**
 * The template engine: LiquidJS reduced to `{{ path | filter: arg }}` output.
 * Tags are gone (no `include`/`render`/`layout`, so no file is ever read, and
 * no loops to spin), only our filters exist, only own properties of the
 * event are visible, and a render is bounded in memory and time.
 */
import { Context, Liquid, LiquidError, Output, type Template } from "liquidjs";
import { outputText, TEMPLATE_FILTERS, FILTER_NAMES } from "./filters";

/** The bounds templates are held to, at validation and again at render. */
export const TEMPLATE_LIMITS = Object.freeze({
  /** Characters in one string of a template. */
  maxStringLength: 10_000,
  /** UTF-8 bytes of one template object (as JSON). */
  maxTemplateBytes: 64 * 1024,
  /** Nesting depth of a template object. */
  maxDepth: 32,
  /**
   * Characters produced by `{{ }}` outputs (and `json`/`join`) while rendering
   * one body: room for several copies of a 256 KiB event, not for a loop of them.
   */
  maxRenderChars: 4_000_000,
  /** Milliseconds for one body (workerd's clock only advances across I/O, so the memory bound is the real one). */
  maxRenderMs: 1_000,
});

/** A problem in a template string: what, and where (1-based line and column, 0-based offset). */
export interface TemplateProblem {
  message: string;
  line: number;
  column: number;
  offset: number;
}

/** A parsed template string, ready to render. */
export type CompiledTemplate = Template[];

/** The result of compiling one template string. */
export type CompileResult = { ok: true; template: CompiledTemplate } | { ok: false; problem: TemplateProblem };

/** A render session: one per body, so the limits bound the whole body, not each string. */
export type RenderSession = Context;

// One engine for the whole isolate: it is configured once here and holds no per-request state
// (every render gets its own Context).
const engine = createEngine();

function createEngine(): Liquid {
  const liquid = new Liquid({
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // An empty in-memory file map instead of the file system, should a file lookup ever happen.
    templates: {},
    dynamicPartials: false,
    cache: false,
    parseLimit: TEMPLATE_LIMITS.maxStringLength,
    memoryLimit: TEMPLATE_LIMITS.maxRenderChars,
    renderLimit: TEMPLATE_LIMITS.maxRenderMs,
    outputEscape: outputText as (value: unknown) => string,
  });
  for (const name of Object.keys(liquid.tags)) delete liquid.tags[name];
  for (const name of Object.keys(liquid.filters)) liquid.unregisterFilter(name);
  for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) liquid.registerFilter(name, filter);
  return liquid;
}

/** Line and column (1-based) of a character offset in `source`. */
export function positionAt(source: string, offset: number): { line: number; column: number; offset: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1, offset };
}

const problemAt = (source: string, offset: number, message: string): CompileResult => ({
  ok: false,
  problem: { message, ...positionAt(source, offset) },
});

/** Liquid's message without its own ", line:1, col:5" suffix, in this API's words. */
function liquidMessage(error: Error): string {
  const text = error.message.replace(/, line:\d+, col:\d+$/, "");
  const filter = /^undefined filter: (.+)$/.exec(text);
  if (filter) return `unknown filter "${filter[1]}" (filters: ${FILTER_NAMES.join(", ")})`;
  const unclosed = /^output "(.*)" not closed$/s.exec(text);
  if (unclosed) return `"{{" is not closed by "}}"`;
  return text;
}

/**
 * Where the unknown filter's name is within its `{{ }}`: Liquid only points
 * at the start of the output, which is less help in a long line.
 */
function unknownFilterOffset(error: LiquidError): number | null {
  const name = /^undefined filter: ([\w-]+)/.exec(error.message)?.[1];
  if (!name) return null;
  const { input, begin, end } = error.token;
  const found = new RegExp(`\\|\\s*${name}(?![\\w-])`).exec(input.slice(begin, end));
  return found ? begin + found.index + found[0].length - name.length : null;
}

/**
 * Parses one template string, or says what is wrong and where. `{% %}` tags
 * are refused outright rather than left to Liquid, so the message is clear
 * and no tag can ever be reached.
 */
export function compileTemplate(source: string): CompileResult {
  if (source.length > TEMPLATE_LIMITS.maxStringLength) {
    return problemAt(source, TEMPLATE_LIMITS.maxStringLength, `is longer than ${TEMPLATE_LIMITS.maxStringLength} characters`);
  }
  const tag = source.indexOf("{%");
  if (tag !== -1) return problemAt(source, tag, "tags are not supported: use {{ path | filter }} only");
  let template: Template[];
  try {
    template = engine.parse(source);
  } catch (error) {
    if (LiquidError.is(error)) return problemAt(source, unknownFilterOffset(error) ?? error.token.begin, liquidMessage(error));
    return problemAt(source, 0, error instanceof Error ? error.message : String(error));
  }
  for (const part of template) {
    // Liquid quietly accepts `{{ a b }}` and `{{ a == b }}`; one value per output is the language.
    if (part instanceof Output && part.value.initial.postfix.length !== 1) {
      const extra = part.value.initial.postfix[1];
      return problemAt(source, extra?.begin ?? part.token.begin, "expected one path or value per {{ }}, then | filters");
    }
  }
  return { ok: true, template };
}

/** Starts the rendering of one body over `scope` (the event envelope). */
export function createRenderSession(scope: object): RenderSession {
  return new Context(scope, engine.options, { sync: true }, { liquid: engine });
}

/**
 * Renders a compiled template string within a session. Throws an Error whose
 * message says which limit was exceeded (filters themselves never throw).
 */
export function renderCompiled(template: CompiledTemplate, session: RenderSession): string {
  try {
    return String(engine.renderSync(template, session));
  } catch (error) {
    throw new Error(error instanceof Error ? liquidMessage(error) : String(error));
  }
}

/** An error a delivery can report as "the template could not be rendered" (no retry will help). */
export interface TemplateError extends Error {
  name: "TemplateError";
}

/** Creates a {@link TemplateError}. */
export function templateError(message: string): TemplateError {
  const error = new Error(message) as TemplateError;
  error.name = "TemplateError";
  return error;
}

/** Whether `error` came from a template (as opposed to a bug or the network). */
export function isTemplateError(error: unknown): error is TemplateError {
  return error instanceof Error && error.name === "TemplateError";
}
