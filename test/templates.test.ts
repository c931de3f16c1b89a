import { describe, expect, it } from "vitest";
import { SEED_SLACK_TEMPLATES } from "./support/seed.mjs";
import {
  compileTemplate,
  FILTER_NAMES,
  isTemplateError,
  keyIsReachable,
  renderTemplateString,
  renderTemplateTree,
  selectTemplate,
  TEMPLATE_LIMITS,
  validateTemplates,
} from "../src/delivery/templates";

const scope = {
  id: "evt_abc123",
  type: "evaluation.completed",
  created_at: "2024-03-15T10:30:00Z",
  data: {
    name: "Daily Evaluation - March 15",
    project_id: "patient-triage",
    summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95, samples_for_review: 23 },
    items: [{ name: "first", tags: ["a", "b"] }, { name: "second" }],
    nothing: null,
    yes: true,
    no: false,
    zero: 0,
    empty: "",
    none: [],
    ratio_text: "0.5",
    big: 1234567,
    words: "not a number",
    "with space": "spaced",
  },
  metadata: { model_version: "triage-v2.4", dataset: "ds_daily_march15" },
};

const r = (source: string, over: object = scope) => renderTemplateString(source, over);

describe("interpolation", () => {
  it("reads the envelope's fields and nested paths", () => {
    expect(r("{{ id }} {{ type }} {{ created_at }}")).toBe("evt_abc123 evaluation.completed 2024-03-15T10:30:00Z");
    expect(r("{{data.name}} / {{ metadata.model_version }}")).toBe("Daily Evaluation - March 15 / triage-v2.4");
    expect(r("{{ data.summary.total_samples }}")).toBe("500");
  });

  it("indexes arrays with brackets or dotted numbers", () => {
    expect(r("{{ data.items[0].name }}")).toBe("first");
    expect(r("{{ data.items.0.name }}")).toBe("first");
    expect(r("{{ data.items[1].name }}|{{ data.items.0.tags.1 }}")).toBe("second|b");
    expect(r('{{ data["with space"] }}')).toBe("spaced");
  });

  it("renders missing paths, null and out-of-range indices as empty text, never undefined", () => {
    expect(r("[{{ data.missing }}][{{ data.missing.deeper.still }}][{{ data.nothing }}][{{ data.items[7].name }}][{{ nope }}]")).toBe("[][][][][]");
    // Liquid's own literals for nothing render as nothing too.
    expect(r("[{{ nil }}][{{ null }}][{{ empty }}][{{ blank }}][{{ data.missing | default: nil }}][{{ nil | upper }}]")).toBe("[][][][][][]");
  });

  it("renders booleans, numbers, objects and arrays as text", () => {
    expect(r("{{ data.yes }} {{ data.no }} {{ data.zero }}")).toBe("true false 0");
    expect(r("{{ data.summary }}")).toBe('{"total_samples":500,"triage_accuracy":0.87,"safety_score":0.95,"samples_for_review":23}');
    expect(r("{{ data.items[0].tags }}")).toBe('["a","b"]');
  });

  it("does not reach prototypes", () => {
    expect(r("[{{ data.constructor }}][{{ data.__proto__ }}][{{ data.summary.toString }}][{{ data.items.constructor }}]")).toBe("[][][][]");
  });

  it("keeps literal text, quotes, newlines and whitespace control", () => {
    expect(r('He said "hi"\n{{ "x" | upper }}')).toBe('He said "hi"\nX');
    expect(r("a  {{- data.zero -}}  b")).toBe("a0b");
  });
});

describe("filters", () => {
  it("are exactly the documented ones", () => {
    expect([...FILTER_NAMES].sort()).toEqual(
      ["date", "default", "escape", "join", "json", "lower", "number", "percent", "round", "title", "truncate", "upper"].sort(),
    );
  });

  it("percent", () => {
    expect(r("{{ data.summary.triage_accuracy | percent }}")).toBe("87.0%");
    expect(r("{{ data.summary.triage_accuracy | percent: 0 }}")).toBe("87%");
    expect(r("{{ data.summary.safety_score | percent }}")).toBe("95.0%");
    expect(r("{{ 0.1234 | percent: 2 }}")).toBe("12.34%");
    expect(r("{{ 12.5 | percent }}")).toBe("1,250.0%");
    expect(r("{{ -0.0001 | percent }}")).toBe("0.0%");
    expect(r("{{ data.ratio_text | percent }}")).toBe("50.0%");
    expect(r("{{ data.words | percent }}|{{ data.yes | percent }}|{{ data.nothing | percent }}|{{ data.missing | percent }}")).toBe(
      "not a number|true||",
    );
    expect(r("{{ data.empty | percent }}|{{ data.summary | percent }}")).toBe(`|${JSON.stringify(scope.data.summary)}`);
  });

  it("number", () => {
    expect(r("{{ data.big | number }}")).toBe("1,234,567");
    expect(r("{{ 1234.5 | number: 2 }}")).toBe("1,234.50");
    expect(r("{{ 1234.5678 | number }}")).toBe("1,234.568");
    expect(r("{{ -9876543.21 | number: 1 }}")).toBe("-9,876,543.2");
    expect(r("{{ 999 | number }} {{ 0 | number: 2 }} {{ '1234' | number }}")).toBe("999 0.00 1,234");
    expect(r("{{ data.words | number }}|{{ data.no | number }}|{{ data.missing | number }}")).toBe("not a number|false|");
    expect(r("{{ data.huge | number }}", { data: { huge: 1e21 } })).toBe("1e+21");
  });

  it("round", () => {
    expect(r("{{ 3.14159 | round }} {{ 3.14159 | round: 2 }} {{ 2.5 | round }} {{ -2.5 | round }}")).toBe("3 3.14 3 -3");
    expect(r("{{ 1.005 | round: 2 }} {{ 0.0000001 | round: 2 }} {{ 10 | round: 2 }}")).toBe("1.01 0 10");
    expect(r("{{ 1234.5678 | round: 1 | number: 1 }}")).toBe("1,234.6");
    expect(r("{{ data.words | round }}|{{ data.nothing | round }}|{{ data.yes | round: 2 }}")).toBe("not a number||true");
  });

  it("upper, lower and title", () => {
    expect(r("{{ data.name | upper }}|{{ data.name | lower }}")).toBe("DAILY EVALUATION - MARCH 15|daily evaluation - march 15");
    expect(r("{{ data.project_id | title }}|{{ 'NASA report' | title }}|{{ 'in_progress' | title }}")).toBe("Patient-Triage|NASA Report|In_Progress");
    expect(r("{{ data.nothing | upper }}|{{ data.missing | title }}|{{ data.yes | upper }}|{{ 5 | lower }}")).toBe("||TRUE|5");
  });

  it("date: ISO or epoch in, ISO or strftime out, always UTC", () => {
    expect(r("{{ created_at | date }}")).toBe("2024-03-15T10:30:00Z");
    expect(r('{{ created_at | date: "%b %-d, %Y %H:%M UTC" }}')).toBe("Mar 15, 2024 10:30 UTC");
    expect(r('{{ created_at | date: "%A %d/%m/%y %I:%M %p %j %Z %z %s %%" }}')).toBe("Friday 15/03/24 10:30 AM 075 UTC +0000 1710498600 %");
    expect(r('{{ created_at | date: "%F %T %B %a %e %-m %Q" }}')).toBe("2024-03-15 10:30:00 March Fri 15 3 %Q");
    expect(r("{{ 1710498600 | date }}|{{ 1710498600000 | date }}|{{ '1710498600' | date }}")).toBe(
      "2024-03-15T10:30:00Z|2024-03-15T10:30:00Z|2024-03-15T10:30:00Z",
    );
    expect(r("{{ '2024-03-15T12:30:00+02:00' | date }}|{{ '2024-03-15T10:30:00' | date }}|{{ '2024-03-15' | date }}")).toBe(
      "2024-03-15T10:30:00Z|2024-03-15T10:30:00Z|2024-03-15T00:00:00Z",
    );
    expect(r("{{ '2024-03-15T10:30:00.123Z' | date }}")).toBe("2024-03-15T10:30:00.123Z");
    expect(r("{{ data.words | date }}|{{ 'March 7' | date }}|{{ data.missing | date }}|{{ data.yes | date }}")).toBe("not a number|March 7||true");
  });

  it("default", () => {
    expect(r('{{ data.missing | default: "n/a" }}|{{ data.nothing | default: "n/a" }}|{{ data.empty | default: "n/a" }}|{{ data.none | default: "n/a" }}')).toBe(
      "n/a|n/a|n/a|n/a",
    );
    expect(r('{{ data.no | default: "n/a" }}|{{ data.zero | default: "n/a" }}|{{ data.name | default: "n/a" }}')).toBe(
      "false|0|Daily Evaluation - March 15",
    );
    expect(r("{{ data.missing | default: data.project_id }}|{{ data.missing | default }}|{{ data.missing | percent | default: '—' }}")).toBe(
      "patient-triage||—",
    );
  });

  it("json", () => {
    expect(r("{{ metadata | json }}")).toBe('{"model_version":"triage-v2.4","dataset":"ds_daily_march15"}');
    expect(r("{{ data.items[0].tags | json: 2 }}")).toBe('[\n  "a",\n  "b"\n]');
    expect(r(`{{ 'say "hi"' | json }}|{{ data.nothing | json }}|{{ data.yes | json }}|{{ data.missing | json }}`)).toBe('"say \\"hi\\""|null|true|');
  });

  it("truncate", () => {
    expect(r("{{ 'abcdefghij' | truncate: 5 }}|{{ 'abc' | truncate: 5 }}|{{ 'abcdefghij' | truncate: 5, '...' }}")).toBe("abcd…|abc|ab...");
    expect(r("{{ data.name | truncate }}")).toBe("Daily Evaluation - March 15");
    expect(r("{{ data.name | truncate: 0 }}|{{ data.missing | truncate: 3 }}|{{ data.big | truncate: 4 }}")).toBe("||123…");
    // An emoji is two UTF-16 units: it is kept whole or dropped, never split.
    expect(r("{{ '😀😀😀' | truncate: 4 }}")).toBe("😀…");
    expect(r("{{ 'x' | truncate: 'many' }}")).toBe("x");
  });

  it("escape for Slack mrkdwn: & < > only", () => {
    expect(r(`{{ '<!channel> & <https://evil.example|docs> "q" \\'s\\'' | escape }}`)).toBe(
      `&lt;!channel&gt; &amp; &lt;https://evil.example|docs&gt; "q" 's'`,
    );
    expect(r("{{ data.missing | escape }}|{{ data.zero | escape }}")).toBe("|0");
  });

  it("join", () => {
    expect(r("{{ data.items[0].tags | join }}|{{ data.items[0].tags | join: ' / ' }}|{{ data.name | join }}")).toBe(
      "a, b|a / b|Daily Evaluation - March 15",
    );
  });

  it("never render NaN or undefined, whatever they are given", () => {
    const values = ["data.missing", "data.nothing", "data.yes", "data.words", "data.summary", "data.items", "data.empty"];
    for (const value of values) {
      for (const filter of FILTER_NAMES) {
        const out = r(`{{ ${value} | ${filter} }}{{ ${value} | ${filter}: 2 }}`);
        expect(out, `${value} | ${filter}`).not.toMatch(/NaN|undefined|\[object Object\]/);
      }
    }
  });
});

describe("template syntax errors", () => {
  const problem = (source: string) => {
    const result = compileTemplate(source);
    if (result.ok) throw new Error(`expected ${JSON.stringify(source)} to fail`);
    return result.problem;
  };

  it("unknown filters, with their position", () => {
    // The position is the filter's name, not just the start of its {{ }}.
    expect(problem("Line one\nAcc: {{ data.x | percnt }}")).toMatchObject({ line: 2, column: 18, offset: 26 });
    expect(problem("{{ data.x | percnt }}").message).toMatch(/unknown filter "percnt"/);
    // Liquid's own filters are not part of the language.
    expect(problem("{{ data.x | upcase }}").message).toMatch(/unknown filter "upcase"/);
    expect(problem("{{ data.x | append: 'y' }}").message).toMatch(/unknown filter "append"/);
  });

  it("unparsable output", () => {
    expect(problem("ok {{ data.x ")).toMatchObject({ line: 1, column: 4, message: '"{{" is not closed by "}}"' });
    expect(problem("{{ data.x | round 2 }}")).toMatchObject({ line: 1, column: 19 });
    expect(problem("{{ data.x | round: 1 2 }}").message).toMatch(/unexpected character/);
    expect(problem("{{ data.a data.b }}")).toMatchObject({ column: 11, message: expect.stringMatching(/one path or value/) });
    expect(problem("{{ data.a == 1 }}").message).toMatch(/one path or value/);
    expect(problem("{{ }}").message).toMatch(/invalid value expression/);
  });

  it("tags, refused outright", () => {
    for (const source of ["{% if data.x %}y{% endif %}", "a\n  {% include 'secrets' %}", "{% render 'x' %}", "{%- layout 'x' -%}", "{% raw %}{% endraw %}"]) {
      expect(problem(source).message).toBe("tags are not supported: use {{ path | filter }} only");
    }
    expect(problem("a\n  {% include 'secrets' %}")).toMatchObject({ line: 2, column: 3, offset: 4 });
  });

  it("strings over the length limit", () => {
    const long = "x".repeat(TEMPLATE_LIMITS.maxStringLength + 1);
    expect(problem(long).message).toMatch(/longer than 10000 characters/);
    expect(compileTemplate("x".repeat(TEMPLATE_LIMITS.maxStringLength)).ok).toBe(true);
  });
});

describe("render limits", () => {
  it("bound the output of one body, however a template repeats a value", () => {
    const envelope = { ...scope, data: { big: "x".repeat(100_000) } };
    const template = { a: "{{ data.big }}".repeat(25), b: "{{ data.big }}".repeat(25) };
    expect(() => renderTemplateTree(template, envelope, "*")).toThrowError(/template "\*" at b: memory alloc limit exceeded/);
    try {
      renderTemplateTree(template, envelope, "*");
    } catch (error) {
      expect(isTemplateError(error)).toBe(true);
    }
    // The same template over a normal payload is fine.
    expect(renderTemplateTree({ a: "{{ data.big }}" }, { ...scope, data: { big: "ok" } }, "*")).toEqual({ a: "ok" });
  });

  it("bound ranges and json copies", () => {
    expect(() => renderTemplateString("{{ (1..100000000) }}", scope)).toThrowError(/limit exceeded/);
    const envelope = { ...scope, data: { big: "y".repeat(500_000) } };
    expect(() => renderTemplateTree({ a: "{{ data | json }}".repeat(10) }, envelope, "x.*")).toThrowError(/limit exceeded/);
  });

  it("refuse template objects that are too large or too deep", () => {
    const huge = { text: Array.from({ length: 10 }, () => "z".repeat(8000)) };
    expect(() => renderTemplateTree(huge, scope, "*")).toThrowError(/at most 65536/);
    let deep: unknown = "x";
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => renderTemplateTree(deep, scope, "*")).toThrowError(/deeper than 32/);
  });
});

describe("template trees", () => {
  it("render string leaves and pass everything else through", () => {
    const template = {
      text: "{{ data.name }}",
      count: 3,
      ratio: 0.5,
      on: true,
      off: false,
      nothing: null,
      nested: [[1, "{{ data.summary.total_samples | number }}"], [{ deep: ["{{ data.project_id | upper }}", null] }]],
      __proto__key: "{{ id }}",
    };
    expect(renderTemplateTree(template, scope, "evaluation.completed")).toEqual({
      text: "Daily Evaluation - March 15",
      count: 3,
      ratio: 0.5,
      on: true,
      off: false,
      nothing: null,
      nested: [[1, "500"], [{ deep: ["PATIENT-TRIAGE", null] }]],
      __proto__key: "evt_abc123",
    });
  });

  it("keep a '__proto__' key a plain key", () => {
    const template = JSON.parse('{"__proto__": {"polluted": "{{ id }}"}, "a": 1}');
    const out = renderTemplateTree(template, scope, "*") as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"evt_abc123"},"a":1}');
  });

  it("name the key, path and position of a broken string", () => {
    expect(() => renderTemplateTree({ blocks: [{ text: "ok" }, { text: "a\n{{ x | nope }}" }] }, scope, "evaluation.*")).toThrowError(
      /^template "evaluation\.\*" at blocks\.1\.text, line 2, column 8: unknown filter "nope"/,
    );
  });
});

describe("choosing a template", () => {
  const templates = { "evaluation.completed": "exact", "evaluation.*": "wild", "evaluation.sub.*": "longer", "*": "any" };

  it("prefers the exact type, then the longest wildcard, then *", () => {
    expect(selectTemplate(templates, "evaluation.completed")).toEqual({ key: "evaluation.completed", template: "exact" });
    expect(selectTemplate(templates, "evaluation.failed")).toEqual({ key: "evaluation.*", template: "wild" });
    expect(selectTemplate(templates, "evaluation.sub.thing")).toEqual({ key: "evaluation.sub.*", template: "longer" });
    expect(selectTemplate(templates, "review.completed")).toEqual({ key: "*", template: "any" });
    expect(selectTemplate({ "evaluation.*": 1 }, "review.completed")).toBeNull();
    expect(selectTemplate(null, "review.completed")).toBeNull();
    expect(selectTemplate({}, "constructor")).toBeNull();
  });

  it("knows which keys a subscription can reach", () => {
    expect(keyIsReachable("evaluation.completed", ["evaluation.completed"])).toBe(true);
    expect(keyIsReachable("evaluation.completed", ["evaluation.*"])).toBe(true);
    expect(keyIsReachable("evaluation.completed", ["*"])).toBe(true);
    expect(keyIsReachable("evaluation.completed", ["evaluation.failed", "review.*"])).toBe(false);
    expect(keyIsReachable("evaluation.*", ["*"])).toBe(true);
    expect(keyIsReachable("evaluation.*", ["evaluation.*"])).toBe(true);
    expect(keyIsReachable("evaluation.*", ["evaluation.failed"])).toBe(true);
    expect(keyIsReachable("evaluation.*", ["evaluations.failed", "review.*"])).toBe(false);
    expect(keyIsReachable("*", [])).toBe(true);
  });
});

describe("validateTemplates", () => {
  const seedEvents = ["evaluation.completed", "alert.triggered"];
  const seedTemplates = SEED_SLACK_TEMPLATES;


  it("accepts the seed's Slack webhook", () => {
    expect(validateTemplates("slack", seedTemplates, seedEvents)).toEqual([]);
    expect(validateTemplates("slack", undefined, seedEvents)).toEqual([]);
    expect(validateTemplates("discord", null, ["*"])).toEqual([]);
  });

  it("points at the string with an unknown filter, with the event type and position", () => {
    const broken = structuredClone(seedTemplates);
    broken["evaluation.completed"].blocks[0]!.text.text = "*{{data.name}}* completed\nAccuracy: {{data.summary.triage_accuracy | percnt}}";
    expect(validateTemplates("slack", broken, seedEvents)).toEqual([
      {
        field: "templates.evaluation.completed.blocks.0.text.text",
        message: expect.stringMatching(
          /^template "evaluation\.completed" at blocks\.0\.text\.text, line 2, column 44: unknown filter "percnt" \(filters: percent, number/,
        ),
      },
    ]);
  });

  it("reports unparsable strings and tags where they are", () => {
    const issues = validateTemplates("template", { "*": { a: ["ok", "{{ data.x"], b: { c: "x {% if y %}" } } }, ["*"]);
    expect(issues).toEqual([
      { field: "templates.*.a.1", message: 'template "*" at a.1, line 1, column 1: "{{" is not closed by "}}"' },
      { field: "templates.*.b.c", message: 'template "*" at b.c, line 1, column 3: tags are not supported: use {{ path | filter }} only' },
    ]);
    expect(validateTemplates("slack", { "alert.triggered": "{{ nope | x }}" }, seedEvents)).toEqual([
      { field: "templates.alert.triggered", message: expect.stringMatching(/^template "alert\.triggered", line 1, column 11: unknown filter "x"/) },
    ]);
  });

  it("refuses keys the webhook does not subscribe to", () => {
    expect(validateTemplates("slack", { "evaluation.failed": "x", "review.*": "y" }, seedEvents)).toEqual([
      { field: "templates.evaluation.failed", message: expect.stringContaining("the webhook does not subscribe to evaluation.failed") },
      { field: "templates.review.*", message: expect.stringContaining("the webhook does not subscribe to review.*") },
    ]);
    expect(validateTemplates("slack", { "evaluation.*": "x", "*": "y", "alert.triggered": "z" }, seedEvents)).toEqual([]);
    expect(validateTemplates("slack", { "evaluation.completed": "x" }, ["evaluation.*"])).toEqual([]);
    expect(validateTemplates("slack", { "evaluation.completed": "x", "review.*": "y" }, ["*"])).toEqual([]);
  });

  it("refuses keys that are not event types or patterns", () => {
    expect(validateTemplates("slack", { "Not A Type": "x", "evaluation.**": "y" }, ["*"])).toEqual([
      { field: "templates.Not A Type", message: '"Not A Type" is not an event type, a "prefix.*" pattern or "*"' },
      { field: "templates.evaluation.**", message: '"evaluation.**" is not an event type, a "prefix.*" pattern or "*"' },
    ]);
  });

  it("refuses templates with the json format", () => {
    expect(validateTemplates("json", seedTemplates, seedEvents)).toEqual([{ field: "templates", message: "templates need a format other than json" }]);
    expect(validateTemplates("json", undefined, seedEvents)).toEqual([]);
    expect(validateTemplates("json", {}, seedEvents)).toEqual([]);
  });

  it("needs a template for every subscription with the template format", () => {
    const events = ["evaluation.completed", "review.*", "alert.triggered"];
    const issues = validateTemplates("template", { "evaluation.completed": { a: 1 }, "review.completed": { b: 2 } }, events);
    expect(issues).toEqual([
      { field: "templates", message: expect.stringContaining("none applies to review.*") },
      { field: "templates", message: expect.stringContaining("none applies to alert.triggered") },
    ]);
    expect(validateTemplates("template", undefined, ["evaluation.completed"])).toHaveLength(1);
    expect(validateTemplates("template", { "*": {} }, events)).toEqual([]);
    expect(validateTemplates("template", { "review.*": 1, "evaluation.*": 2, "alert.triggered": 3 }, events)).toEqual([]);
    expect(validateTemplates("template", { "evaluation.*": 2 }, ["*"])).toEqual([
      { field: "templates", message: expect.stringContaining("none applies to *") },
    ]);
  });

  it("checks the shape and size of templates", () => {
    expect(validateTemplates("slack", { "*": 42 }, ["*"])).toEqual([
      { field: "templates.*", message: expect.stringContaining("a slack template must be an object (the message) or a string") },
    ]);
    expect(validateTemplates("msteams", { "*": [{ type: "TextBlock", text: "{{ id }}" }] }, ["*"])).toEqual([]);
    expect(validateTemplates("template", { "*": 42 }, ["*"])).toEqual([]);
    expect(validateTemplates("template", { "*": { text: "z".repeat(10_001) } }, ["*"])).toEqual([
      { field: "templates.*.text", message: expect.stringContaining("longer than 10000 characters") },
    ]);
    const big = { parts: Array.from({ length: 8 }, () => "z".repeat(9000)) };
    expect(validateTemplates("template", { "*": big }, ["*"])).toEqual([
      { field: "templates.*", message: expect.stringContaining("a template may have at most 65536") },
    ]);
  });

  it("checks format and templates themselves", () => {
    expect(validateTemplates("xml", undefined, ["*"])).toEqual([{ field: "format", message: "must be one of json, slack, discord, msteams, template" }]);
    expect(validateTemplates("slack", ["x"], ["*"])).toEqual([{ field: "templates", message: expect.stringContaining("must be an object") }]);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`t.e${i}`, "x"]));
    expect(validateTemplates("slack", many, ["*"])).toEqual([{ field: "templates", message: "at most 100 templates per webhook" }]);
  });
});
