/**
 * The OpenAPI 3.1 document of the app, generated from the zod schemas its
 * routes validate requests with, plus what the registry cannot know: the
 * security schemes (API key, operator token), tags, plain (non-OpenAPI)
 * routes and request examples a route is still missing.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";

/** Version of the API description (kept with package.json's). */
export const API_VERSION = "0.1.0";

/** Paths that take the operator token (ADMIN_TOKEN) instead of an API key: each prefix and everything under it. */
export const OPERATOR_PATHS = ["/v1/accounts", "/metrics", "/v1/admin"] as const;

/** Paths anyone may call. */
const PUBLIC_PATHS = new Set(["/health"]);

const DESCRIPTION = `Rubric Webhooks delivers your events to your customers' webhook endpoints, signed (Standard Webhooks), retried and recorded.

Authentication: every call under \`/v1\` takes an API key as \`Authorization: Bearer rk_live_…\` (or \`rk_test_…\`). The operator token (the Worker secret \`ADMIN_TOKEN\`) is needed instead for \`/v1/accounts\`, \`/metrics\` and \`/v1/admin/*\`. Reading this description (\`/openapi.json\`, \`/docs\`) needs neither.

Requests and answers are JSON with snake_case fields. Every error has one shape, \`{"error": {"code", "message", "details"?, "request_id"}}\`, and the same request id comes back in the \`X-Request-Id\` header. Lists are \`{"data": [...], "next_cursor": "…" | null}\` with \`limit\` (1–250, default 50) and \`cursor\`.`;

/** Plain (non-OpenAPI) routes described here: added to the document only when the app has them and nobody documented them yet. */
const PLAIN_ROUTES: Record<string, Record<string, unknown>> = {
  "GET /health": {
    summary: "Liveness check (no auth)",
    security: [],
    responses: {
      200: {
        description: "The Worker is up",
        content: {
          "application/json": {
            schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
            example: { ok: true },
          },
        },
      },
    },
  },
  "GET /metrics": {
    summary: "Every account's delivery metrics in the Prometheus text format (operator token)",
    responses: {
      200: {
        description: "Prometheus exposition text (version 0.0.4); counters as of their last flush",
        content: {
          "text/plain": {
            schema: { type: "string" },
            example: '# TYPE rubric_deliveries_succeeded_total counter\nrubric_deliveries_succeeded_total{account="acct_01HV6Z8K2M3N4P5Q6R7S8T9V0W"} 42\n',
          },
        },
      },
      401: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
    },
  },
};

/**
 * Request-body examples for routes whose schemas carry none yet. The route's own
 * `.openapi({ example })` always wins; these only fill gaps (listed in the report to the route owners).
 */
const FALLBACK_BODY_EXAMPLES: Record<string, unknown> = {
  "POST /v1/admin/probe/fetch": { url: "https://receiver.example.com/hooks/probe", count: 1000, concurrency: 8 },
};

const TAG_DESCRIPTIONS: Record<string, string> = {
  accounts: "Accounts and their first API key (operator token)",
  webhooks: "Webhook endpoints: create, list, read, delivery history",
  events: "The producer side: send events to be delivered",
  deliveries: "One delivery of an event to a webhook, with every attempt",
  metrics: "Delivery metrics and billable operations",
  admin: "Operator tools (operator token)",
  health: "Liveness",
};

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** The parts of the generated document this file reads and writes. */
export interface OpenAPIDoc {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string; description?: string }>;
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, any>; securitySchemes?: Record<string, any>; [k: string]: any };
  security?: Array<Record<string, string[]>>;
  tags?: Array<{ name: string; description?: string }>;
  [k: string]: unknown;
}

/** What the docs need of the app: its OpenAPI registry and its route table. */
export interface DocumentedApp {
  getOpenAPI31Document: OpenAPIHono["getOpenAPI31Document"];
  routes: ReadonlyArray<{ method: string; path: string }>;
}

/** Hono's `/v1/webhooks/:id` → OpenAPI's `/v1/webhooks/{id}` (drops custom regexes and `?`). */
export const toOpenAPIPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g, "{$1}");

const underPrefix = (path: string, prefixes: readonly string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

/** `/v1/webhooks/{id}` → `webhooks`, `/metrics` → `metrics`. */
export function tagOf(path: string): string {
  const segments = path.split("/").filter(Boolean);
  const first = segments[0] === "v1" ? segments[1] : segments[0];
  return first ?? "default";
}

/** The example a media type object carries, directly or on its (referenced) schema. */
export function mediaExample(media: any, doc: Pick<OpenAPIDoc, "components">): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values(media.examples)[0];
  if (first && typeof first === "object" && "value" in first) return (first as { value: unknown }).value;
  let schema = media.schema;
  const ref = typeof schema?.$ref === "string" ? schema.$ref.match(/^#\/components\/schemas\/(.+)$/) : null;
  if (ref) schema = doc.components?.schemas?.[ref[1]!];
  if (schema?.example !== undefined) return schema.example;
  if (Array.isArray(schema?.examples) && schema.examples.length) return schema.examples[0];
  return undefined;
}

/** Generates the OpenAPI 3.1 document of `app`, with auth, tags and the gaps above filled in. */
export function buildOpenAPIDocument(app: DocumentedApp): OpenAPIDoc {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "Rubric Webhooks API", version: API_VERSION, description: DESCRIPTION },
    servers: [{ url: "/", description: "This Worker" }],
    security: [{ bearerAuth: [] }],
  }) as unknown as OpenAPIDoc;

  doc.components ??= {};
  doc.components.securitySchemes = {
    ...doc.components.securitySchemes,
    bearerAuth: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "API key",
      description: "API key rk_live_…/rk_test_…, sent as `Authorization: Bearer <api key>`. Shown once, when its account is created.",
    },
    operatorToken: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "Operator token",
      description: "The operator token (the Worker secret ADMIN_TOKEN), for /v1/accounts, /metrics and /v1/admin/*.",
    },
  };

  // Plain routes the app has but the registry cannot describe.
  for (const route of app.routes) {
    const key = `${route.method.toUpperCase()} ${toOpenAPIPath(route.path)}`;
    const extra = PLAIN_ROUTES[key];
    if (!extra) continue;
    const path = toOpenAPIPath(route.path);
    const method = route.method.toLowerCase();
    doc.paths[path] ??= {};
    doc.paths[path]![method] ??= structuredClone(extra);
  }

  const tags: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      if (!op.tags?.length) op.tags = [tagOf(path)];
      for (const t of op.tags) if (!tags.includes(t)) tags.push(t);
      op.operationId ??= `${method}_${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "")}`;
      if (PUBLIC_PATHS.has(path)) op.security = [];
      else if (underPrefix(path, OPERATOR_PATHS) && !op.security) {
        op.security = [{ operatorToken: [] }];
        const note = "Requires the operator token (ADMIN_TOKEN), not an API key.";
        op.description = op.description ? `${op.description}\n\n${note}` : note;
      }
      const json = op.requestBody?.content?.["application/json"];
      const fallback = FALLBACK_BODY_EXAMPLES[`${method.toUpperCase()} ${path}`];
      // Lift the schema's example onto the media type too, where clients (and the docs page) look first.
      if (json) {
        const example = mediaExample(json, doc) ?? fallback;
        if (example !== undefined) json.example = example;
      }
    }
  }
  doc.tags = [...(doc.tags ?? []), ...tags.filter((t) => !doc.tags?.some((d) => d.name === t)).map((name) => ({ name, ...(TAG_DESCRIPTIONS[name] ? { description: TAG_DESCRIPTIONS[name] } : {}) }))];
  return doc;
}
