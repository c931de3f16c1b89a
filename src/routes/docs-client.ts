/**
 * The script of `GET /docs`, run in the browser: fetches `openapi.json` and
 * renders the reference (operations grouped by tag, parameters, bodies,
 * examples, responses, schemas) and a "Try it" form per operation.
 *
 * It is shipped as the source text of `docsClient` (see `DOCS_SCRIPT`), so it
 * must use nothing from outside its own body: no imports, no module-level
 * names. It builds the page with createElement/textContent only (never
 * innerHTML), so nothing in the description can inject markup. The tests run
 * it against a small fake DOM.
 */

/* The DOM is not in this project's type libraries (it targets Workers), so the browser objects are `any` here. */
export function docsClient(win: any): void {
  "use strict";
  const document = win.document;
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];
  const STORE_PREFIX = "rubric-docs-";

  // ---- DOM helpers -------------------------------------------------------
  const add = (el: any, kids: unknown[]): any => {
    for (const k of kids) {
      if (k === null || k === undefined || k === false || k === "") continue;
      if (Array.isArray(k)) add(el, k);
      else el.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
    }
    return el;
  };
  const h = (tag: string, attrs?: Record<string, unknown> | null, ...kids: unknown[]): any => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null || v === false) continue;
      el.setAttribute(k, v === true ? "" : String(v));
    }
    return add(el, kids);
  };
  const anchor = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "-");
  const pretty = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
  const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === "object";

  // ---- Keys: in memory, or in sessionStorage when the box is ticked ------
  const keys: Record<string, any> = { api: document.getElementById("key-api"), operator: document.getElementById("key-operator") };
  const remember = document.getElementById("key-remember");
  const storage = () => {
    try {
      return win.sessionStorage ?? null;
    } catch {
      return null;
    }
  };
  const saved = storage();
  if (saved) {
    for (const k of Object.keys(keys)) {
      const v = saved.getItem(STORE_PREFIX + k);
      if (v) {
        keys[k].value = v;
        remember.checked = true;
      }
    }
  }
  const persist = () => {
    const st = storage();
    if (!st) return;
    for (const k of Object.keys(keys)) {
      if (remember.checked && keys[k].value) st.setItem(STORE_PREFIX + k, keys[k].value);
      else st.removeItem(STORE_PREFIX + k);
    }
  };
  keys.api.addEventListener("input", persist);
  keys.operator.addEventListener("input", persist);
  remember.addEventListener("change", persist);
  document.getElementById("key-forget").addEventListener("click", () => {
    keys.api.value = "";
    keys.operator.value = "";
    remember.checked = false;
    persist();
    keys.api.focus();
  });

  // ---- The document -------------------------------------------------------
  const statusEl = document.getElementById("docs-status");
  const setStatus = (el: any, kind: string, text: string) => {
    el.setAttribute("class", `status${kind ? ` ${kind}` : ""}`);
    el.textContent = text;
  };
  let doc: any = {};

  /** Follows local `$ref`s. */
  const deref = (value: any): any => {
    for (let i = 0; i < 10 && isObj(value) && typeof value.$ref === "string"; i++) {
      let next: any = doc;
      for (const p of value.$ref.replace(/^#\//, "").split("/")) next = next?.[p.replace(/~1/g, "/").replace(/~0/g, "~")];
      value = next;
    }
    return value;
  };

  /** Paragraphs with `code` spans: the only markdown the descriptions use. */
  const md = (text: string) =>
    String(text)
      .split(/\n{2,}/)
      .map((para) => h("p", null, inline(para)));

  /** One line with its `code` spans. */
  const inline = (text: string) => String(text).split(/`([^`]+)`/).map((part, i) => (i % 2 ? h("code", null, part) : part));

  /** A short type: `string | null`, `array of Webhook` (named schemas link to their section). */
  const typeLabel = (s: any): unknown[] => {
    if (!isObj(s)) return ["any"];
    if (typeof s.$ref === "string") {
      const name = s.$ref.split("/").pop() ?? "";
      return [h("a", { href: `#schema-${anchor(name)}` }, name)];
    }
    const union = s.anyOf ?? s.oneOf;
    if (Array.isArray(union)) return union.flatMap((u: any, i: number) => [i ? " | " : "", ...typeLabel(u)]);
    if (Array.isArray(s.allOf) && s.allOf.length === 1) return typeLabel(s.allOf[0]);
    if (s.const !== undefined) return [JSON.stringify(s.const)];
    const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    if (!types.length) return [Array.isArray(s.enum) ? "enum" : "any"];
    return types.flatMap((t, i) => {
      const sep = i ? " | " : "";
      if (t === "array") return [sep, "array of ", ...typeLabel(s.items)];
      if (t === "object" && !s.properties && isObj(s.additionalProperties) && Object.keys(s.additionalProperties).length) {
        return [sep, "map of string → ", ...typeLabel(s.additionalProperties)];
      }
      return [sep, t];
    });
  };

  /** Rules worth showing beside a field. */
  const rules = (s: any): string[] => {
    const out: string[] = [];
    if (!isObj(s)) return out;
    if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((v: unknown) => JSON.stringify(v)).join(", ")}`);
    if (s.format) out.push(`format ${s.format}`);
    const range = (lo: unknown, hi: unknown, unit: string) => {
      if (lo !== undefined && hi !== undefined) out.push(`${lo}–${hi}${unit}`);
      else if (lo !== undefined) out.push(`at least ${lo}${unit}`);
      else if (hi !== undefined) out.push(`at most ${hi}${unit}`);
    };
    range(s.minLength, s.maxLength, " characters");
    range(s.minimum ?? s.exclusiveMinimum, s.maximum ?? s.exclusiveMaximum, "");
    range(s.minItems, s.maxItems, " items");
    if (s.pattern) out.push(`pattern ${s.pattern}`);
    if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
    if (s.example !== undefined && !isObj(s.example)) out.push(`e.g. ${JSON.stringify(s.example)}`);
    return out;
  };

  /** An object schema's properties as a nested list; inline objects expand, named ones link. */
  const fields = (schema: any, depth = 0): any => {
    const s = deref(schema);
    if (!isObj(s)) return h("p", null, "Any JSON value.");
    const props = isObj(s.properties) ? s.properties : null;
    if (!props || !Object.keys(props).length) {
      const r = rules(s);
      return h("p", null, h("span", { class: "type" }, typeLabel(schema)), r.length ? ` — ${r.join("; ")}` : "");
    }
    const required = new Set<string>(Array.isArray(s.required) ? s.required : []);
    return h(
      "ul",
      { class: "fields" },
      Object.entries(props).map(([name, p]: [string, any]) => {
        const nested = isObj(p) && !p.$ref ? (p.properties ? p : isObj(p.items) && p.items.properties ? p.items : null) : null;
        const r = rules(p);
        return h(
          "li",
          null,
          h("code", { class: "name" }, name),
          " ",
          h("span", { class: "type" }, typeLabel(p)),
          " ",
          h("span", { class: required.has(name) ? "req" : "opt" }, required.has(name) ? "required" : "optional"),
          p?.description ? h("span", { class: "desc" }, " — ", inline(p.description)) : "",
          r.length ? h("span", { class: "rules" }, ` (${r.join("; ")})`) : "",
          nested && depth < 4 ? fields(nested, depth + 1) : "",
        );
      }),
    );
  };

  /** The example a media type carries, directly or on its (named) schema. */
  const ownExample = (media: any): unknown => {
    if (!isObj(media)) return undefined;
    if (media.example !== undefined) return media.example;
    const first = isObj(media.examples) ? Object.values(media.examples)[0] : undefined;
    if (isObj(first) && "value" in first) return first.value;
    const s = deref(media.schema);
    if (isObj(s) && s.example !== undefined) return s.example;
    if (isObj(s) && Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    return undefined;
  };

  /** A value of the schema's shape, from its examples where it has them. */
  const exampleOf = (schema: any, depth = 0): unknown => {
    if (!isObj(schema) || depth > 6) return null;
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    if (schema.$ref) return exampleOf(deref(schema), depth + 1);
    if (schema.default !== undefined) return schema.default;
    if (schema.const !== undefined) return schema.const;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    const union = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(union)) return exampleOf(union.find((u: any) => u?.type !== "null") ?? union[0], depth + 1);
    if (Array.isArray(schema.allOf) && schema.allOf.length) return exampleOf(schema.allOf[0], depth + 1);
    const type = Array.isArray(schema.type) ? (schema.type.find((t: string) => t !== "null") ?? "null") : schema.type;
    if (type === "object") {
      return isObj(schema.properties) ? Object.fromEntries(Object.entries(schema.properties).map(([k, p]) => [k, exampleOf(p, depth + 1)])) : {};
    }
    if (type === "array") return [exampleOf(schema.items, depth + 1)];
    if (type === "string") return schema.format === "date-time" ? "2024-03-15T10:30:00.000Z" : "string";
    if (type === "integer" || type === "number") return schema.minimum ?? 0;
    if (type === "boolean") return true;
    return null;
  };

  /** A request or response body: its media types, fields and an example. */
  const body = (content: any, label: string) =>
    Object.entries(content ?? {}).map(([type, media]: [string, any]) => {
      const own = ownExample(media);
      const example = own !== undefined ? own : exampleOf(media?.schema);
      return h(
        "div",
        { class: "media" },
        h("p", { class: "mt" }, h("code", null, type), media?.schema?.$ref ? [" — ", ...typeLabel(media.schema)] : ""),
        fields(media?.schema),
        h("p", { class: "ex-label" }, own === undefined ? `${label} (shape generated from the schema)` : label),
        h("pre", { tabindex: "0", "aria-label": label }, h("code", null, pretty(example))),
      );
    });

  const authOf = (op: any): string => {
    const security = op.security ?? doc.security ?? [];
    if (security.some((s: any) => isObj(s) && "operatorToken" in s)) return "operator";
    if (security.some((s: any) => isObj(s) && "bearerAuth" in s)) return "api";
    return "";
  };

  /** The "Try it" form of one operation. */
  const tryIt = (o: any, params: any[], bodyExample: unknown, hasBody: boolean) => {
    const who = o.auth === "operator" ? "the operator token" : o.auth === "api" ? "the API key" : "no credentials";
    const inputs = params
      .filter((p) => p && (p.in === "path" || p.in === "query" || p.in === "header"))
      .map((p) => {
        const id = `${o.id}-${p.in}-${anchor(p.name)}`;
        const s = deref(p.schema) ?? {};
        const hint = p.example ?? s.example ?? s.default;
        const input = h("input", {
          id,
          type: "text",
          autocomplete: "off",
          spellcheck: "false",
          required: !!p.required,
          placeholder: hint === undefined ? undefined : String(hint),
        });
        return { p, input, field: h("div", { class: "field" }, h("label", { for: id }, p.name, " ", h("span", { class: "in" }, `(${p.in}${p.required ? ", required" : ""})`)), input) };
      });
    const bodyId = `${o.id}-body`;
    const textarea = hasBody ? h("textarea", { id: bodyId, rows: "10", spellcheck: "false" }) : null;
    if (textarea) textarea.value = bodyExample === undefined ? "" : pretty(bodyExample);
    const button = h("button", { type: "submit" }, `Send ${o.method.toUpperCase()} ${o.path}`);
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    const outCode = h("code");
    const out = h("pre", { class: "out", tabindex: "0", "aria-label": `Response of ${o.method.toUpperCase()} ${o.path}`, hidden: true }, outCode);
    const form = h(
      "form",
      { "data-method": o.method.toUpperCase(), "data-path": o.path, "data-auth": o.auth, novalidate: true },
      inputs.map((i) => i.field),
      textarea ? h("div", { class: "field" }, h("label", { for: bodyId }, "Request body (JSON)"), textarea) : "",
      h("p", { class: "note" }, `Sent from this page to this Worker with ${who}.`),
      button,
      status,
      out,
    );
    form.addEventListener("submit", (event: any) => {
      event.preventDefault();
      let path: string = o.path;
      const query = new URLSearchParams();
      const headers: Record<string, string> = {};
      for (const { p, input } of inputs) {
        const value = String(input.value ?? "").trim();
        input.removeAttribute("aria-invalid");
        if (!value) {
          if (p.required) {
            input.setAttribute("aria-invalid", "true");
            setStatus(status, "bad", `${p.name} is required.`);
            input.focus();
            return;
          }
          continue;
        }
        if (p.in === "path") path = path.split(`{${p.name}}`).join(encodeURIComponent(value));
        else if (p.in === "query") query.append(p.name, value);
        else headers[p.name] = value;
      }
      const key = o.auth ? String(keys[o.auth].value ?? "").trim() : "";
      if (key) headers.Authorization = `Bearer ${key}`;
      let payload: string | undefined;
      if (textarea && String(textarea.value).trim()) {
        payload = textarea.value;
        headers["Content-Type"] = "application/json";
      }
      const base = String(doc.servers?.[0]?.url ?? "/").replace(/\/+$/, "");
      const qs = query.toString();
      const url = `${base}${path}${qs ? `?${qs}` : ""}`;
      const started = win.performance.now();
      button.disabled = true;
      setStatus(status, "", `Sending ${o.method.toUpperCase()} ${url}…`);
      return win
        .fetch(url, { method: o.method.toUpperCase(), headers, body: payload, credentials: "omit", cache: "no-store", redirect: "error" })
        .then((res: any) =>
          res.text().then((text: string) => {
            let shown = text;
            try {
              shown = JSON.stringify(JSON.parse(text), null, 2);
            } catch {
              // not JSON: shown as it came
            }
            const ms = Math.round(win.performance.now() - started);
            const noKey = o.auth && !key ? " · no key was entered above" : "";
            setStatus(status, res.ok ? "good" : "bad", `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""} · ${ms} ms${noKey}`);
            outCode.textContent = shown || "(empty body)";
            out.hidden = false;
          }),
        )
        .catch((err: any) => {
          setStatus(status, "bad", `The request failed: ${err?.message ?? err}`);
          out.hidden = true;
        })
        .then(() => {
          button.disabled = false;
        });
    });
    return h("details", { class: "try" }, h("summary", null, "Try it"), form);
  };

  /** One operation: heading, summary, auth, parameters, request body, responses, Try it. */
  const operation = (o: any) => {
    const params: any[] = (o.op.parameters ?? []).map(deref);
    const requestBody = deref(o.op.requestBody);
    const json = requestBody?.content?.["application/json"];
    const bodyExample = json ? (ownExample(json) ?? exampleOf(json.schema)) : undefined;
    const auth =
      o.auth === "operator" ? "operator token (ADMIN_TOKEN)" : o.auth === "api" ? "API key (Authorization: Bearer rk_live_… / rk_test_…)" : "none";
    return h(
      "article",
      { class: "op", id: o.id, "aria-labelledby": `${o.id}-h` },
      h("h3", { id: `${o.id}-h` }, h("span", { class: `m m-${o.method}` }, o.method.toUpperCase()), " ", h("code", { class: "path" }, o.path)),
      o.op.summary ? h("p", { class: "summary" }, inline(o.op.summary)) : "",
      o.op.description ? md(o.op.description) : "",
      h("p", { class: "auth-req" }, `Auth: ${auth}`),
      params.length
        ? [
            h("h4", null, "Parameters"),
            h(
              "ul",
              { class: "fields" },
              params.map((p) => {
                const r = rules(deref(p.schema));
                if (p.example !== undefined && !isObj(p.example)) r.push(`e.g. ${JSON.stringify(p.example)}`);
                return h(
                  "li",
                  null,
                  h("code", { class: "name" }, p.name),
                  " ",
                  h("span", { class: "in" }, `in ${p.in}`),
                  " ",
                  h("span", { class: "type" }, typeLabel(p.schema)),
                  " ",
                  h("span", { class: p.required ? "req" : "opt" }, p.required ? "required" : "optional"),
                  p.description ? h("span", { class: "desc" }, " — ", inline(p.description)) : "",
                  r.length ? h("span", { class: "rules" }, ` (${[...new Set(r)].join("; ")})`) : "",
                );
              }),
            ),
          ]
        : "",
      requestBody?.content ? [h("h4", null, `Request body${requestBody.required ? " (required)" : ""}`), body(requestBody.content, "Example request")] : "",
      h("h4", null, "Responses"),
      h(
        "ul",
        { class: "responses" },
        Object.entries(o.op.responses ?? {}).map(([code, r]) => {
          const res = deref(r);
          const ok = /^2/.test(code);
          return h(
            "li",
            null,
            h(
              "details",
              { open: ok },
              h("summary", null, h("span", { class: `s ${ok ? "s-ok" : "s-err"}` }, code), " ", inline(res?.description ?? "")),
              res?.content ? body(res.content, `Example ${code} response`) : h("p", null, "No body."),
            ),
          );
        }),
      ),
      tryIt(o, params, bodyExample, !!json),
    );
  };

  /** Operations grouped by their first tag, in document order. */
  const groups = () => {
    const byTag = new Map<string, any[]>();
    for (const t of doc.tags ?? []) if (t?.name) byTag.set(t.name, []);
    for (const [path, item] of Object.entries(doc.paths ?? {}) as Array<[string, any]>) {
      for (const method of METHODS) {
        const op = item?.[method];
        if (!isObj(op)) continue;
        const tag = op.tags?.[0] ?? "default";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag)!.push({ method, path, op, auth: authOf(op), id: `op-${anchor(op.operationId ?? `${method}-${path}`)}` });
      }
    }
    return [...byTag].filter(([, ops]) => ops.length);
  };

  const render = (loaded: any) => {
    doc = loaded;
    const toc = document.getElementById("toc-list");
    const content = document.getElementById("content");
    const tagged = groups();
    const tagInfo = new Map((doc.tags ?? []).map((t: any) => [t.name, t.description]));
    let count = 0;
    for (const [tag, ops] of tagged) {
      const id = `tag-${anchor(tag)}`;
      toc.appendChild(
        h(
          "li",
          null,
          h("a", { href: `#${id}` }, tag),
          h("ul", null, ops.map((o) => h("li", null, h("a", { href: `#${o.id}` }, h("span", { class: `m m-${o.method}` }, o.method.toUpperCase()), " ", o.path)))),
        ),
      );
      content.appendChild(
        h("section", { id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, tag), tagInfo.get(tag) ? h("p", null, tagInfo.get(tag)) : "", ops.map(operation)),
      );
      count += ops.length;
    }
    const schemas = Object.entries(doc.components?.schemas ?? {});
    if (schemas.length) {
      toc.appendChild(h("li", null, h("a", { href: "#schemas" }, "Schemas")));
      content.appendChild(
        h(
          "section",
          { id: "schemas", "aria-labelledby": "schemas-h" },
          h("h2", { id: "schemas-h" }, "Schemas"),
          schemas.map(([name, s]: [string, any]) =>
            h(
              "article",
              { class: "schema", id: `schema-${anchor(name)}`, "aria-labelledby": `schema-${anchor(name)}-h` },
              h("h3", { id: `schema-${anchor(name)}-h` }, name),
              s?.description ? h("p", null, s.description) : "",
              fields(s),
            ),
          ),
        ),
      );
    }
    setStatus(statusEl, "", `${count} operations in ${tagged.length} groups.`);
    // The browser looked for the fragment before the reference existed.
    const hash = String(win.location?.hash ?? "").slice(1);
    if (hash) {
      let target = null;
      try {
        target = document.getElementById(decodeURIComponent(hash));
      } catch {
        // a malformed fragment: stay at the top
      }
      if (target?.scrollIntoView) target.scrollIntoView();
    }
  };

  win
    .fetch("openapi.json", { credentials: "omit", headers: { Accept: "application/json" } })
    .then((res: any) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return res.json();
    })
    .then(render)
    .catch((err: any) => setStatus(statusEl, "bad", `Could not load the API description (openapi.json): ${err?.message ?? err}`));
}

/**
 * The inline script: `docsClient`'s own source, called with `window`. Bundlers may wrap
 * inner functions in `__name(fn, "name")` (esbuild's keepNames), so a no-op stands in for it.
 */
export const DOCS_SCRIPT = `"use strict";var __name=function(f){return f};(${docsClient.toString()})(window);`;
