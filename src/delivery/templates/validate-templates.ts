/**
 * Validation of `format` + `templates` at webhook create/update, so a broken
 * template is a 422 with the place of the mistake, not a failed delivery later.
 */
import type { FieldIssue } from "../../lib/errors";
import { OUTPUT_FORMATS, isOutputFormat, type OutputFormat } from "../formats/output-formats";
import { compileTemplate } from "./engine";
import { describeTemplateProblem } from "./render-tree";
import { isTemplateKey, keyCoversPattern, keyIsReachable } from "./select";
import { isPlainObject } from "./text";
import { stringLeaves, templateSizeProblem } from "./tree";

/** At most this many templates per webhook (a webhook has at most 100 event patterns too). */
export const MAX_TEMPLATES = 100;

/** At most this many issues are reported; past that the first ones are what matters. */
const MAX_ISSUES = 100;

/** Why a template's top-level shape cannot make a body for `format`, or null. */
function shapeProblem(format: OutputFormat, template: unknown): string | null {
  const isObject = isPlainObject(template);
  const isText = typeof template === "string";
  if ((format === "slack" || format === "discord") && !isObject && !isText) {
    return `a ${format} template must be an object (the message) or a string (its text)`;
  }
  if (format === "msteams" && !isObject && !isText && !Array.isArray(template)) {
    return "an msteams template must be an object (a message or an Adaptive Card), an array (the card's body) or a string (its text)";
  }
  return null;
}

/** The issues of one template: its key, its shape, its size and every string in it. */
function templateIssues(format: OutputFormat, key: string, template: unknown, subscribed: readonly string[]): FieldIssue[] {
  const field = `templates.${key}`;
  if (!isTemplateKey(key)) {
    return [{ field, message: `"${key}" is not an event type, a "prefix.*" pattern or "*"` }];
  }
  const issues: FieldIssue[] = [];
  if (!keyIsReachable(key, subscribed)) {
    issues.push({ field, message: `template "${key}": the webhook does not subscribe to ${key} (events: ${subscribed.join(", ") || "none"})` });
  }
  const problem = shapeProblem(format, template) ?? templateSizeProblem(template);
  if (problem) return [...issues, { field, message: describeTemplateProblem(key, [], problem) }];
  for (const { path, text } of stringLeaves(template)) {
    const compiled = compileTemplate(text);
    if (!compiled.ok) {
      const { problem: at } = compiled;
      issues.push({ field: [field, ...path].join("."), message: describeTemplateProblem(key, path, at.message, at) });
    }
  }
  return issues;
}

/**
 * Checks a webhook's `format` and `templates` against its subscribed event
 * patterns. Returns the issues (`field` is `templates.<key>.<path.to.string>`
 * for a problem inside a template), empty when all is well.
 */
export function validateTemplates(format: string, templates: unknown, subscribedEvents: readonly string[]): FieldIssue[] {
  if (!isOutputFormat(format)) {
    return [{ field: "format", message: `must be one of ${OUTPUT_FORMATS.join(", ")}` }];
  }
  if (templates !== undefined && templates !== null && !isPlainObject(templates)) {
    return [{ field: "templates", message: 'must be an object mapping an event type, "prefix.*" or "*" to a template' }];
  }
  const entries = Object.entries(templates ?? {});
  if (format === "json") {
    return entries.length > 0 ? [{ field: "templates", message: "templates need a format other than json" }] : [];
  }
  if (entries.length > MAX_TEMPLATES) {
    return [{ field: "templates", message: `at most ${MAX_TEMPLATES} templates per webhook` }];
  }
  const issues = entries.flatMap(([key, template]) => templateIssues(format, key, template, subscribedEvents));
  if (format === "template") {
    // A custom body has no built-in fallback worth sending, so every subscription needs a template.
    for (const pattern of subscribedEvents) {
      if (!entries.some(([key]) => keyCoversPattern(key, pattern))) {
        issues.push({
          field: "templates",
          message: `format "template" needs a template for every subscribed event: none applies to ${pattern} (add "${pattern}" or "*")`,
        });
      }
    }
  }
  return issues.slice(0, MAX_ISSUES);
}
