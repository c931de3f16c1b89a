// The API description: /openapi.json covers every route the app has, and /docs works offline and safely.
// Everything is derived from the app itself, so new routes are checked without touching this file.
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { toOpenAPIPath } from "../src/routes/docs";
import { DOCS_SCRIPT, docsClient } from "../src/routes/docs-client";
import { ADMIN, call, waitFor } from "./support/helpers";

/** Routes the document need not describe: the description itself and the plain, non-API routes. */
const UNDOCUMENTED_OK = new Set(["GET /health", "GET /openapi.json", "GET /docs", "GET /metrics"]);
/** Prefixes served with the operator token rather than an API key. */
const OPERATOR_PREFIXES = ["/v1/accounts", "/metrics", "/v1/admin"];
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: Record<string, any>; [k: string]: any };

let doc: Doc;
beforeAll(async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  doc = res.json;
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })));

/** Every (METHOD, /openapi/{path}) the app routes, middleware (`ALL`) left out. */
function appRoutes(): string[] {
  const app = createApp();
  return [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toUpperCase()} ${toOpenAPIPath(r.path)}`))];
}

const resolve = (value: any): any => {
  for (let i = 0; i < 10 && typeof value?.$ref === "string"; i++) {
    value = value.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((node: any, key: string) => node?.[key], doc);
  }
  return value;
};

/** The example a media type object gives, directly or on its schema. */
const exampleOf = (media: any): unknown => {
  if (media.example !== undefined) return media.example;
  const named = media.examples && Object.values(media.examples)[0];
  if (named) return (named as { value?: unknown }).value;
  const schema = resolve(media.schema);
  return schema?.example !== undefined ? schema.example : Array.isArray(schema?.examples) ? schema.examples[0] : undefined;
};
const hasExample = (media: any) => exampleOf(media) !== undefined;

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;
const gzippedLength = async (text: string) => (await new Response(new Response(text).body!.pipeThrough(new CompressionStream("gzip"))).arrayBuffer()).byteLength;

type ZodLike = { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } };
const issues = (r: ReturnType<ZodLike["safeParse"]>) => (r.error?.issues ?? []).map((i) => `${i.path.map(String).join(".")} ${i.message}`).join("; ");

const under = (path: string, prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

describe("GET /openapi.json", () => {
  it("needs no auth and is an OpenAPI 3.1 document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: "Rubric Webhooks API", version: expect.stringMatching(/^\d+\.\d+\.\d+/), description: expect.any(String) });
    expect(doc.servers).toEqual(expect.arrayContaining([expect.objectContaining({ url: "/" })]));
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    expect(Object.keys(doc.components.schemas ?? {}).length).toBeGreaterThan(0);
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.bearerAuth.description).toMatch(/rk_live_.*rk_test_/);
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    // Every $ref points at something in the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) expect(resolve({ $ref: ref }), ref).toBeDefined();
  });

  it("describes every route the app has, under its mount prefix", () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(UNDOCUMENTED_OK.size);
    const missing = routes.filter((key) => {
      if (UNDOCUMENTED_OK.has(key)) return false;
      const [method, path] = key.split(" ") as [string, string];
      return !doc.paths[path]?.[method.toLowerCase()];
    });
    expect(missing, "routes missing from /openapi.json").toEqual([]);
    // ...and nothing the app does not route (an unprefixed `/` or `/{id}` would show up here).
    const known = new Set(routes);
    const phantom = operations()
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
      .filter((key) => !known.has(key));
    expect(phantom, "documented operations the app does not route").toEqual([]);
    expect(doc.paths["/v1/webhooks/{id}"]?.get).toBeDefined();
  });

  it("gives every operation a summary, a tag, an operationId and a 2xx response with a schema", () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const key = `${method.toUpperCase()} ${path}`;
      if (!op.summary?.trim()) problems.push(`${key}: no summary`);
      if (!op.tags?.length) problems.push(`${key}: no tag`);
      if (!op.operationId || ids.has(op.operationId)) problems.push(`${key}: missing or duplicate operationId`);
      ids.add(op.operationId);
      const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      const withSchema = ok.some(([, r]) => Object.values(resolve(r)?.content ?? {}).some((media: any) => media?.schema));
      if (!withSchema) problems.push(`${key}: no 2xx response with a schema`);
      for (const p of op.parameters ?? []) {
        const param = resolve(p);
        if (param.in === "path" && !path.includes(`{${param.name}}`)) problems.push(`${key}: path parameter ${param.name} not in the path`);
      }
      for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
        const declared = (op.parameters ?? []).some((p: any) => resolve(p).in === "path" && `{${resolve(p).name}}` === name);
        if (!declared) problems.push(`${key}: path parameter ${name} not declared`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has an example for every JSON request body", () => {
    const missing = operations()
      .filter(({ op }) => resolve(op.requestBody)?.content?.["application/json"])
      .filter(({ op }) => !hasExample(resolve(op.requestBody).content["application/json"]))
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(missing, "request bodies without an example").toEqual([]);
  });

  it("has examples that the route's own schemas accept (request bodies and path parameters)", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const def of createApp().openAPIRegistry.definitions) {
      if (def.type !== "route") continue;
      const { method, path, request } = def.route;
      const op = doc.paths[path]?.[method];
      if (!op) continue; // reported by the coverage test
      const key = `${method.toUpperCase()} ${path}`;
      const bodySchema: ZodLike | undefined = (request?.body?.content?.["application/json"] as { schema?: ZodLike } | undefined)?.schema;
      if (bodySchema && "safeParse" in bodySchema) {
        const example = exampleOf(resolve(op.requestBody).content["application/json"]);
        const result = bodySchema.safeParse(example);
        checked++;
        if (example !== undefined && !result.success) problems.push(`${key} body example: ${issues(result)}`);
      }
      const params = request?.params;
      if (params && "safeParse" in params) {
        const values = Object.fromEntries(
          (op.parameters ?? [])
            .map(resolve)
            .filter((p: any) => p.in === "path")
            .map((p: any) => [p.name, p.example ?? p.schema?.example]),
        );
        if (Object.values(values).every((v) => v !== undefined)) {
          const result = params.safeParse(values);
          checked++;
          if (!result.success) problems.push(`${key} path parameter examples: ${issues(result)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("marks the operator-token routes and the public ones", () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { path, method, op } of operations()) {
      const key = `${method.toUpperCase()} ${path}`;
      const security: Array<Record<string, string[]>> = op.security ?? doc.security;
      for (const requirement of security) for (const name of Object.keys(requirement)) expect(schemes, `${key} uses ${name}`).toContain(name);
      const uses = (name: string) => security.some((r) => name in r);
      if (under(path, OPERATOR_PREFIXES)) {
        expect(uses("operatorToken") && !uses("bearerAuth"), `${key} takes the operator token`).toBe(true);
      } else if (path === "/health") expect(security).toEqual([]);
      else expect(uses("bearerAuth"), `${key} takes an API key`).toBe(true);
    }
  });

  it("documents the answers the API really gives (a sample checked against its schema's required fields)", async () => {
    const res = await call("POST", "/v1/accounts", { headers: ADMIN, body: doc.paths["/v1/accounts"]!.post.requestBody.content["application/json"].example });
    expect(res.status).toBe(201);
    const schema = resolve(doc.paths["/v1/accounts"]!.post.responses["201"].content["application/json"].schema);
    for (const field of schema.required ?? []) expect(res.json).toHaveProperty(field);
  });
});

describe("GET /docs", () => {
  it("is a self-contained HTML page with strict security headers, and needs no auth", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toBeTruthy();
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:|data:/);
    const nonce = csp.match(/script-src 'nonce-([A-Za-z0-9+/=]+)'/)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // Page weight: the page itself stays the same size whatever the routes; with the description it
    // loads, what goes over the wire (compressed, as Cloudflare serves it) stays under 100 KB too.
    expect(byteLength(res.text)).toBeLessThan(100 * 1024);
    const description = await call("GET", "/openapi.json");
    expect(await gzippedLength(res.text + description.text)).toBeLessThan(100 * 1024);

    // A fresh nonce per response.
    const again = await call("GET", "/docs");
    expect(again.headers.get("Content-Security-Policy")).not.toContain(nonce);

    const found = { external: [] as string[], scripts: 0, styles: 0, badNonce: [] as string[], labels: new Set<string>(), controls: [] as string[], h1: 0, lang: "" };
    const rewriter = new HTMLRewriter()
      .on("*", {
        element(el) {
          for (const [name = "", value = ""] of el.attributes) {
            if (["src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href"].includes(name) && /^\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(value)) {
              found.external.push(`<${el.tagName} ${name}="${value}">`);
            }
          }
        },
      })
      .on("html", { element: (el) => void (found.lang = el.getAttribute("lang") ?? "") })
      .on("h1", { element: () => void found.h1++ })
      .on("script", {
        element(el) {
          found.scripts++;
          if (el.getAttribute("nonce") !== nonce) found.badNonce.push("script");
          if (el.hasAttribute("src")) found.external.push("<script src>");
        },
      })
      .on("style", {
        element(el) {
          found.styles++;
          if (el.getAttribute("nonce") !== nonce) found.badNonce.push("style");
        },
      })
      .on("link", { element: (el) => void found.external.push(`<link rel="${el.getAttribute("rel")}">`) })
      .on("[style]", { element: (el) => void found.badNonce.push(`style attribute on <${el.tagName}>`) })
      .on("label[for]", { element: (el) => void found.labels.add(el.getAttribute("for")!) })
      .on("input, textarea, select", {
        element(el) {
          if (el.getAttribute("type") !== "hidden") found.controls.push(el.getAttribute("id") ?? `(<${el.tagName}> without id)`);
        },
      });
    await rewriter.transform(new Response(res.text)).text();

    expect(res.text).toMatch(/^<!doctype html>/i);
    expect(found.external, "external URLs").toEqual([]);
    expect(res.text).not.toMatch(/\/\/cdn|@import|url\(/i);
    expect(found.scripts).toBeGreaterThan(0);
    expect(found.styles).toBeGreaterThan(0);
    expect(found.badNonce).toEqual([]);
    expect(found.lang).toBe("en");
    expect(found.h1).toBe(1);
    expect(found.controls.filter((id) => !found.labels.has(id)), "form controls without a label").toEqual([]);
  });

  it("its script renders every operation, and Try it sends real requests", async () => {
    const page = (await call("GET", "/docs")).text;
    const shellIds = new Set<string>();
    await new HTMLRewriter()
      .on("[id]", { element: (el) => void shellIds.add(el.getAttribute("id")!) })
      .transform(new Response(page))
      .text();
    expect(page).toContain(DOCS_SCRIPT);
    expect(DOCS_SCRIPT).not.toMatch(/<\/script|<!--/i);

    const { win, body, requests } = fakeBrowser(shellIds);
    docsClient(win);
    const status = byId(body, "docs-status")!;
    await waitFor(async () => status.textContent !== "", 5_000, "the reference to render");
    expect(status.textContent).toMatch(/^\d+ operations in \d+ groups\.$/);
    expect(requests[0]).toMatchObject({ url: "http://rubric.test/openapi.json" });

    const nodes = [...body.walk()];
    const ids = nodes.map((n) => n.getAttribute("id")).filter(Boolean);
    expect(ids.length, "ids are unique").toBe(new Set(ids).size);
    const labelled = new Set(nodes.filter((n) => n.tagName === "label").map((n) => n.getAttribute("for")));
    // (The shell's own fields are checked in the page test above.)
    const rendered = [...byId(body, "content")!.walk()];
    const unlabelled = rendered.filter((n) => (n.tagName === "input" || n.tagName === "textarea") && !labelled.has(n.getAttribute("id")));
    expect(unlabelled.map((n) => n.getAttribute("id"))).toEqual([]);
    expect(nodes.filter((n) => n.hasAttribute("style"))).toEqual([]);
    expect(nodes.filter((n) => /^\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(n.getAttribute("href") ?? n.getAttribute("src") ?? ""))).toEqual([]);

    const forms = new Map(nodes.filter((n) => n.tagName === "form").map((f) => [`${f.getAttribute("data-method")} ${f.getAttribute("data-path")}`, f]));
    for (const { path, method, op } of operations()) {
      const key = `${method.toUpperCase()} ${path}`;
      expect(forms.has(key), `Try it form for ${key}`).toBe(true);
      const article = byId(body, `op-${op.operationId.replace(/[^A-Za-z0-9_-]+/g, "-")}`);
      expect(article?.tagName, key).toBe("article");
      expect([...article!.walk()].some((n) => n.tagName === "h3" && n.textContent.includes(path))).toBe(true);
      // Bodies come pre-filled with their example.
      const textarea = [...forms.get(key)!.walk()].find((n) => n.tagName === "textarea");
      const json = resolve(op.requestBody)?.content?.["application/json"];
      if (json) expect(JSON.parse(textarea!.value), key).toBeTruthy();
    }
    expect(forms.get("POST /v1/accounts")!.getAttribute("data-auth")).toBe("operator");
    expect(forms.get("GET /v1/webhooks")!.getAttribute("data-auth")).toBe("api");

    // Try it: create an account with the operator token, then use its key.
    byId(body, "key-operator")!.value = ADMIN.Authorization.replace(/^Bearer /, "");
    const created = await submit(forms.get("POST /v1/accounts")!);
    expect(created.status).toMatch(/^HTTP 201/);
    const apiKey = JSON.parse(created.out).api_key as string;
    expect(apiKey).toMatch(/^rk_test_/);
    expect(requests.at(-1)).toMatchObject({ method: "POST", url: "http://rubric.test/v1/accounts" });
    expect(requests.at(-1)!.headers.authorization).toBe(ADMIN.Authorization);

    const listForm = forms.get("GET /v1/webhooks")!;
    const none = await submit(listForm);
    expect(none.status).toMatch(/^HTTP 401.*no key was entered/);
    byId(body, "key-api")!.value = apiKey;
    input(listForm, "limit").value = "5";
    const listed = await submit(listForm);
    expect(listed.status).toMatch(/^HTTP 200/);
    expect(JSON.parse(listed.out)).toEqual({ data: [], next_cursor: null });
    expect(requests.at(-1)).toMatchObject({ url: "http://rubric.test/v1/webhooks?limit=5" });

    const getForm = forms.get("GET /v1/webhooks/{id}")!;
    const requestsBefore = requests.length;
    expect((await submit(getForm)).status).toBe("id is required.");
    expect(requests.length).toBe(requestsBefore);
    input(getForm, "id").value = "wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W";
    expect((await submit(getForm)).status).toMatch(/^HTTP 404/);
    expect(requests.at(-1)).toMatchObject({ url: "http://rubric.test/v1/webhooks/wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W" });

    // The key is kept only when asked, and only in sessionStorage.
    expect(win.sessionStorage.length).toBe(0);
    const remember = byId(body, "key-remember")!;
    remember.checked = true;
    remember.fire("change");
    expect(win.sessionStorage.getItem("rubric-docs-api")).toBe(apiKey);
    byId(body, "key-forget")!.fire("click");
    expect(win.sessionStorage.length).toBe(0);
    expect(byId(body, "key-api")!.value).toBe("");
  });
});

// ---- A fake browser, just enough DOM for docsClient ---------------------------------------------

class FakeElement {
  children: FakeElement[] = [];
  attrs = new Map<string, string>();
  listeners = new Map<string, Array<(e: unknown) => unknown>>();
  value = "";
  checked = false;
  disabled = false;
  constructor(
    readonly tagName: string,
    private text = "",
  ) {}
  appendChild(child: FakeElement) {
    this.children.push(child);
    return child;
  }
  setAttribute(name: string, value: string) {
    this.attrs.set(name, String(value));
  }
  getAttribute(name: string) {
    return this.attrs.get(name) ?? null;
  }
  hasAttribute(name: string) {
    return this.attrs.has(name);
  }
  removeAttribute(name: string) {
    this.attrs.delete(name);
  }
  get hidden() {
    return this.attrs.has("hidden");
  }
  set hidden(v: boolean) {
    if (v) this.attrs.set("hidden", "");
    else this.attrs.delete("hidden");
  }
  get textContent(): string {
    return this.tagName === "#text" ? this.text : this.children.map((c) => c.textContent).join("");
  }
  set textContent(v: string) {
    this.children = [new FakeElement("#text", String(v))];
  }
  addEventListener(type: string, fn: (e: unknown) => unknown) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  fire(type: string) {
    return Promise.all((this.listeners.get(type) ?? []).map((fn) => fn({ type, preventDefault() {} })));
  }
  focus() {}
  scrollIntoView() {}
  *walk(): Generator<FakeElement> {
    yield this;
    for (const c of this.children) yield* c.walk();
  }
}

const byId = (root: FakeElement, id: string) => [...root.walk()].find((n) => n.getAttribute("id") === id);
const input = (form: FakeElement, name: string) => [...form.walk()].find((n) => n.tagName === "input" && n.getAttribute("id")?.endsWith(`-${name}`))!;

/** Submits a Try it form and waits for its answer; returns the status line and the response shown. */
async function submit(form: FakeElement) {
  await form.fire("submit");
  const nodes = [...form.walk()];
  const status = nodes.find((n) => n.getAttribute("role") === "status")!.textContent;
  const out = nodes.find((n) => n.tagName === "pre")!;
  return { status, out: out.hidden ? "" : out.textContent };
}

/** A window whose shell holds the page's elements (by id) and whose fetch calls the Worker. */
function fakeBrowser(shellIds: Set<string>) {
  const body = new FakeElement("body");
  for (const id of ["key-api", "key-operator", "key-remember", "key-forget", "docs-status", "toc-list", "content"]) {
    expect(shellIds.has(id), `the page has #${id}`).toBe(true);
    const el = body.appendChild(new FakeElement(id.startsWith("key-") ? "input" : "div"));
    el.setAttribute("id", id);
  }
  const store = new Map<string, string>();
  const requests: Array<{ method: string; url: string; headers: Record<string, string> }> = [];
  const win = {
    document: {
      createElement: (tag: string) => new FakeElement(tag.toLowerCase()),
      createTextNode: (text: string) => new FakeElement("#text", text),
      getElementById: (id: string) => byId(body, id) ?? null,
    },
    location: { hash: "" },
    performance: { now: () => Date.now() },
    sessionStorage: {
      get length() {
        return store.size;
      },
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, String(v)),
      removeItem: (k: string) => void store.delete(k),
    },
    async fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; credentials?: string } = {}) {
      expect(init.credentials).toBe("omit");
      const req = new Request(new URL(url, "http://rubric.test/docs"), { method: init.method ?? "GET", headers: init.headers, body: init.body });
      requests.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers) });
      return exports.default.fetch(req);
    },
  };
  return { win, body, requests };
}
