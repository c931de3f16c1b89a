import { describe, expect, it } from "vitest";
import { checkSchema, SCHEMA_LIMITS, validateAgainstSchema } from "../src/lib/json-schema";

const evaluationSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["evaluation_id", "summary"],
  properties: {
    evaluation_id: { type: "string", pattern: "^eval_" },
    status: { enum: ["completed", "failed"] },
    summary: {
      type: "object",
      properties: {
        triage_accuracy: { type: "number", minimum: 0, maximum: 1 },
        total_samples: { type: "integer" },
      },
      required: ["triage_accuracy"],
    },
    items: { type: "array", items: { $ref: "#/$defs/item" } },
    completed_at: { type: "string", format: "date-time" },
  },
  $defs: { item: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false } },
};

describe("checkSchema", () => {
  const valid: Array<[string, unknown]> = [
    ["the evaluation schema", evaluationSchema],
    ["an empty schema", {}],
    ["draft 7", { $schema: "http://json-schema.org/draft-07/schema#", type: "object", definitions: { a: { type: "string" } }, properties: { a: { $ref: "#/definitions/a" } } }],
    ["draft 7 tuple items", { $schema: "http://json-schema.org/draft-07/schema", properties: { pair: { items: [{ type: "string" }, { type: "number" }] } } }],
    ["draft 7 dependencies", { $schema: "http://json-schema.org/draft-07/schema#", dependencies: { a: ["b"], c: { required: ["d"] } } }],
    ["type list with object", { type: ["object", "null"] }],
    ["boolean subschemas", { properties: { a: true, b: false }, additionalProperties: false }],
    ["recursive through a property", { type: "object", properties: { children: { type: "array", items: { $ref: "#" } } } }],
    ["recursive list via $defs", { $ref: "#/$defs/node", $defs: { node: { anyOf: [{ type: "null" }, { properties: { next: { $ref: "#/$defs/node" } } }] } } }],
    ["a local anchor", { properties: { a: { $ref: "#name" } }, $defs: { n: { $anchor: "name", type: "string" } } }],
    ["combinators and conditionals", { allOf: [{ required: ["a"] }], if: { properties: { a: { const: 1 } } }, then: { required: ["b"] }, else: { not: { required: ["c"] } } }],
    ["annotations", { title: "T", description: "D", examples: [{ a: 1 }], default: {}, deprecated: false, $comment: "c" }],
    ["an enum holding $ref-like data", { properties: { a: { enum: [{ $ref: "https://example.com" }] } } }],
  ];

  it.each(valid)("accepts %s", (_name, schema) => {
    expect(checkSchema(schema)).toEqual([]);
  });

  const invalid: Array<[string, unknown, Array<{ field: string; message: string | RegExp }>]> = [
    ["an array", [{ type: "object" }], [{ field: "schema", message: "must be a JSON object" }]],
    ["a string", "object", [{ field: "schema", message: "must be a JSON object" }]],
    ["true", true, [{ field: "schema", message: "must be a JSON object" }]],
    ["null", null, [{ field: "schema", message: "must be a JSON object" }]],
    ["a root type other than object", { type: "string" }, [{ field: "schema.type", message: /must be "object"/ }]],
    ["a root type list without object", { type: ["string", "null"] }, [{ field: "schema.type", message: /must be "object"/ }]],
    ["an unknown type name", { type: "strnig" }, [{ field: "schema.type", message: /does not match any of \["array","boolean"/ }]],
    ["a nested bad type", { properties: { a: { type: "text" } } }, [{ field: "schema.properties.a.type", message: /does not match any of/ }]],
    ["a type of the wrong kind", { properties: { a: { type: 5 } } }, [{ field: "schema.properties.a.type", message: /Instance type "number" is invalid/ }]],
    ["duplicate type names", { type: ["object", "object"] }, [{ field: "schema.type", message: /Duplicate items/ }]],
    ["required not a list", { required: "a" }, [{ field: "schema.required", message: /Instance type "string" is invalid/ }]],
    ["required with numbers", { required: ["a", 1] }, [{ field: "schema.required.1", message: /Instance type "number" is invalid/ }]],
    ["negative minLength", { properties: { a: { minLength: -1 } } }, [{ field: "schema.properties.a.minLength", message: /less than/ }]],
    ["fractional maxItems", { properties: { a: { maxItems: 1.5 } } }, [{ field: "schema.properties.a.maxItems", message: /Expected "integer"/ }]],
    ["an invalid pattern", { properties: { a: { pattern: "([" } } }, [{ field: "schema.properties.a.pattern", message: /format "regex"/ }]],
    ["an invalid patternProperties key", { patternProperties: { "([": {} } }, [{ field: "schema.patternProperties", message: /Property name "\(\[" does not match schema/ }]],
    ["properties not an object", { properties: [] }, [{ field: "schema.properties", message: /Instance type "array" is invalid/ }]],
    ["a subschema that is a number", { properties: { a: 1 } }, [{ field: "schema.properties.a", message: /Instance type "number" is invalid/ }]],
    ["empty allOf", { allOf: [] }, [{ field: "schema.allOf", message: /too few items/ }]],
    ["2020-12 tuple items", { properties: { a: { items: [{ type: "string" }] } } }, [{ field: "schema.properties.a.items", message: /Instance type "array" is invalid/ }]],
    ["multipleOf zero", { properties: { a: { multipleOf: 0 } } }, [{ field: "schema.properties.a.multipleOf", message: /less than/ }]],
    ["an unknown $schema", { $schema: "http://json-schema.org/draft-04/schema#" }, [{ field: "schema.$schema", message: /must be "https:\/\/json-schema.org\/draft\/2020-12\/schema"/ }]],
    ["a remote $ref", { properties: { a: { $ref: "https://example.com/schema.json" } } }, [{ field: "schema.properties.a.$ref", message: /remote references are not allowed/ }]],
    ["a relative $ref", { $defs: { a: { $ref: "other.json#/x" } } }, [{ field: "schema.$defs.a.$ref", message: /remote references are not allowed/ }]],
    ["a remote $ref in items", { properties: { a: { items: { $ref: "http://x/y" } } } }, [{ field: "schema.properties.a.items.$ref", message: /remote references are not allowed/ }]],
    ["an unresolved local $ref", { properties: { a: { $ref: "#/$defs/missing" } } }, [{ field: "schema.properties.a.$ref", message: "does not point to a subschema of this schema" }]],
    ["a $ref into data", { properties: { a: { $ref: "#/properties/b/enum/0" }, b: { enum: [{}] } } }, [{ field: "schema.properties.a.$ref", message: "does not point to a subschema of this schema" }]],
    ["$dynamicRef", { properties: { a: { $dynamicRef: "#meta" } } }, [{ field: "schema.properties.a.$dynamicRef", message: "is not supported" }]],
    ["a self-referencing root", { $ref: "#" }, [{ field: "schema", message: /reference cycle/ }]],
    ["a $ref cycle through $defs", { $ref: "#/$defs/a", $defs: { a: { allOf: [{ $ref: "#/$defs/b" }] }, b: { not: { $ref: "#/$defs/a" } } } }, [{ field: "schema", message: /reference cycle/ }]],
    ["duplicate $id", { $defs: { a: { $id: "https://x.test/a" }, b: { $id: "https://x.test/a" } } }, [{ field: "schema", message: /cannot be used: Duplicate schema URI/ }]],
    [
      "too large",
      { properties: Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`property_${i}`, { type: "string" }])) },
      [{ field: "schema", message: /^is \d+ bytes when serialized; at most 32768 are allowed$/ }],
    ],
    [
      "nested too deep",
      JSON.parse(`${'{"not":'.repeat(70)}{}${"}".repeat(70)}`),
      [{ field: "schema", message: "nests objects and arrays deeper than 64 levels" }],
    ],
  ];

  it.each(invalid)("refuses %s", (_name, schema, expected) => {
    const issues = checkSchema(schema);
    expect(issues.map((i) => i.field)).toEqual(expected.map((e) => e.field));
    expected.forEach((e, i) => {
      if (typeof e.message === "string") expect(issues[i]!.message).toBe(e.message);
      else expect(issues[i]!.message).toMatch(e.message);
    });
  });

  it("does not change the schema it is given", () => {
    const schema = structuredClone(evaluationSchema);
    expect(checkSchema(schema)).toEqual([]);
    expect(Object.getOwnPropertyNames(schema)).toEqual(Object.getOwnPropertyNames(evaluationSchema));
    expect(Object.getOwnPropertyNames(schema.properties.items.items)).toEqual(["$ref"]);
  });

  it("reports at most 20 issues", () => {
    const schema = { properties: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, { type: "bogus" }])) };
    expect(checkSchema(schema)).toHaveLength(SCHEMA_LIMITS.maxIssues);
  });
});

describe("validateAgainstSchema", () => {
  const good = {
    evaluation_id: "eval_xyz789",
    status: "completed",
    summary: { triage_accuracy: 0.87, total_samples: 500 },
    items: [{ name: "a" }],
    completed_at: "2024-03-15T10:30:00Z",
  };

  it("accepts valid data", () => {
    expect(validateAgainstSchema(evaluationSchema, good)).toEqual([]);
    expect(validateAgainstSchema({}, { anything: [1, "x", null] })).toEqual([]);
  });

  const cases: Array<[string, unknown, Array<{ field: string; message: string | RegExp }>]> = [
    ["a wrong nested type", { ...good, summary: { triage_accuracy: "high" } }, [{ field: "data.summary.triage_accuracy", message: 'Instance type "string" is invalid. Expected "number".' }]],
    ["an out-of-range number", { ...good, summary: { triage_accuracy: 1.5 } }, [{ field: "data.summary.triage_accuracy", message: "1.5 is greater than 1." }]],
    ["a missing required property", { summary: { triage_accuracy: 0.5 } }, [{ field: "data", message: 'Instance does not have required property "evaluation_id".' }]],
    ["a missing nested required property", { ...good, summary: {} }, [{ field: "data.summary", message: 'Instance does not have required property "triage_accuracy".' }]],
    ["a non-integer", { ...good, summary: { triage_accuracy: 0.5, total_samples: 1.5 } }, [{ field: "data.summary.total_samples", message: 'Instance type "number" is invalid. Expected "integer".' }]],
    ["a value outside an enum", { ...good, status: "running" }, [{ field: "data.status", message: 'Instance does not match any of ["completed","failed"].' }]],
    ["a pattern mismatch", { ...good, evaluation_id: "run_1" }, [{ field: "data.evaluation_id", message: "String does not match pattern." }]],
    ["a format mismatch", { ...good, completed_at: "yesterday" }, [{ field: "data.completed_at", message: 'String does not match format "date-time".' }]],
    ["an array item through $ref", { ...good, items: [{ name: "a" }, { name: 2 }] }, [{ field: "data.items.1.name", message: 'Instance type "number" is invalid. Expected "string".' }]],
    ["an additional property", { ...good, items: [{ name: "a", extra: true }] }, [{ field: "data.items.0.extra", message: "is not allowed by the schema" }]],
    [
      "several problems at once",
      { evaluation_id: 1, summary: { triage_accuracy: -1 }, status: "x" },
      [
        { field: "data.evaluation_id", message: 'Instance type "number" is invalid. Expected "string".' },
        { field: "data.status", message: /does not match any of/ },
        { field: "data.summary.triage_accuracy", message: "-1 is less than 0." },
      ],
    ],
  ];

  it.each(cases)("reports %s", (_name, data, expected) => {
    const issues = validateAgainstSchema(evaluationSchema, data);
    expect(issues.map((i) => i.field)).toEqual(expected.map((e) => e.field));
    expected.forEach((e, i) => {
      if (typeof e.message === "string") expect(issues[i]!.message).toBe(e.message);
      else expect(issues[i]!.message).toMatch(e.message);
    });
  });

  it("turns JSON pointer escapes into plain keys", () => {
    const schema = { properties: { "a/b": { properties: { "c~d": { type: "string" } } }, "with space": { type: "number" }, "é#": { type: "null" } } };
    expect(validateAgainstSchema(schema, { "a/b": { "c~d": 1 }, "with space": "x", "é#": 0 }).map((i) => i.field)).toEqual([
      "data.a/b.c~d",
      "data.with space",
      "data.é#",
    ]);
  });

  it("sums up anyOf/oneOf instead of listing every branch", () => {
    const schema = { properties: { v: { anyOf: [{ type: "string" }, { type: "number" }] }, w: { oneOf: [{ type: "string" }, { maxLength: 3 }] } } };
    expect(validateAgainstSchema(schema, { v: null, w: "ab" })).toEqual([
      { field: "data.v", message: "Instance does not match any subschemas." },
      { field: "data.w", message: "Instance does not match exactly one subschema (2 matches)." },
    ]);
  });

  it("reports what a failed then/else requires, not just that it failed", () => {
    const schema = {
      if: { properties: { status: { const: "failed" } } },
      then: { required: ["error"] },
      else: { properties: { error: false } },
    };
    expect(validateAgainstSchema(schema, { status: "failed" })).toEqual([{ field: "data", message: 'Instance does not have required property "error".' }]);
    expect(validateAgainstSchema(schema, { status: "ok", error: "x" })).toEqual([{ field: "data.error", message: "is not allowed by the schema" }]);
    expect(validateAgainstSchema(schema, { status: "ok" })).toEqual([]);
  });

  it("follows draft 7 when the schema says so", () => {
    // In draft 7, keywords next to $ref are ignored.
    const schema = { $schema: "http://json-schema.org/draft-07/schema#", definitions: { s: { type: "string" } }, properties: { a: { $ref: "#/definitions/s", maxLength: 1 } } };
    expect(validateAgainstSchema(schema, { a: "long" })).toEqual([]);
    expect(validateAgainstSchema({ ...schema, $schema: undefined }, { a: "long" })).toEqual([{ field: "data.a", message: "String is too long (4 > 1)." }]);
  });

  it("reports at most 20 issues", () => {
    const schema = { additionalProperties: { type: "string" } };
    const data = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(validateAgainstSchema(schema, data)).toHaveLength(20);
  });

  it("answers with an issue, not an exception, when a schema cannot be applied", () => {
    expect(validateAgainstSchema({ $ref: "https://example.com/s.json" }, {})).toEqual([
      { field: "data", message: expect.stringMatching(/^could not be validated against the schema: Unresolved \$ref/) },
    ]);
    expect(validateAgainstSchema("nope", {})).toEqual([{ field: "data", message: expect.stringMatching(/not a JSON object/) }]);
  });

  it("does not change the schema it is given", () => {
    const schema = structuredClone(evaluationSchema);
    validateAgainstSchema(schema, good);
    expect(Object.getOwnPropertyNames(schema)).toEqual(Object.getOwnPropertyNames(evaluationSchema));
  });
});
