/**
 * The template language of webhook bodies: `{{ path | filter: arg }}` over
 * the event envelope. See engine.ts for what is allowed and filters.ts for
 * the filters.
 */
export { FILTER_NAMES } from "./filters";
export { TEMPLATE_LIMITS, compileTemplate, isTemplateError, type TemplateError, type TemplateProblem } from "./engine";
export { renderTemplateString, renderTemplateTree, type EventEnvelope } from "./render-tree";
export { selectTemplate, keyIsReachable, keyCoversPattern, type SelectedTemplate } from "./select";
export { validateTemplates, MAX_TEMPLATES } from "./validate-templates";
