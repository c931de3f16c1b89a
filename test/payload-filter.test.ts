import { describe, expect, it } from "vitest";
import { eventAttributes, filtersMatch } from "../src/dispatch/match";
import {
  explainFilters,
  FILTER_OPERATORS,
  hasPayloadFilters,
  payloadFiltersMatch,
  validatePayloadFilters,
  type FilterableEvent,
} from "../src/dispatch/payload-filter";
import { jsonEqual, resolvePath } from "../src/dispatch/payload-filter-ops";

const envelope: FilterableEvent = {
  id: "evt_abc123",
  type: "evaluation.completed",
  created_at: "2024-03-15T10:30:00Z",
  data: {
    evaluation_id: "eval_xyz789",
    project_id: "patient-triage",
    status: "completed",
    summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95 },
    completed_at: "2024-03-15T10:30:00Z",
    count_text: "5",
    count: 5,
    nothing: null,
    flag: false,
    zero: 0,
    empty: "",
    tags: ["a", "b"],
    items: [{ name: "x", scores: [1, 2] }, { name: "y", scores: [[3, 4]] }],
    labels: { "0": "zero-key" },
    config: { a: 1, b: [1, { c: 2 }] },
  },
  metadata: { model_version: "triage-v2.4", dataset: "ds_daily_march15" },
};

const match = (path: string, condition: unknown, env: FilterableEvent = envelope) => payloadFiltersMatch({ [path]: condition }, env);

describe("payload filter operators", () => {
  const cases: Array<[string, string, unknown, boolean]> = [
    // $eq / bare values: strict JSON equality
    ["bare string", "data.status", "completed", true],
    ["bare string mismatch", "data.status", "failed", false],
    ["$eq number", "data.count", { $eq: 5 }, true],
    ['$eq 5 vs "5"', "data.count", { $eq: "5" }, false],
    ['$eq "5" vs 5', "data.count_text", { $eq: 5 }, false],
    ["$eq null on null", "data.nothing", { $eq: null }, true],
    ["bare null on null", "data.nothing", null, true],
    ["$eq null on missing", "data.absent", { $eq: null }, false],
    ["$eq false is not 0", "data.flag", { $eq: 0 }, false],
    ['$eq 0 is not ""', "data.zero", { $eq: "" }, false],
    ["$eq empty string", "data.empty", { $eq: "" }, true],
    ["$eq deep object, other key order", "data.config", { $eq: { b: [1, { c: 2 }], a: 1 } }, true],
    ["$eq deep object, extra key", "data.config", { $eq: { a: 1, b: [1, { c: 2 }], d: 3 } }, false],
    ["$eq deep object, nested difference", "data.config", { $eq: { a: 1, b: [1, { c: "2" }] } }, false],
    ["bare object means $eq", "data.summary", { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95 }, true],
    ["$eq array order matters", "data.tags", { $eq: ["b", "a"] }, false],
    ["$eq array", "data.tags", { $eq: ["a", "b"] }, true],
    ["bare array", "data.tags", ["a", "b"], true],
    ["$eq array is not its element", "data.tags", "a", false],
    ["$eq object vs array", "data.labels", { $eq: ["zero-key"] }, false],
    ["$eq type", "type", "evaluation.completed", true],
    ["$eq id", "id", { $eq: "evt_abc123" }, true],
    ["$eq metadata", "metadata.model_version", "triage-v2.4", true],
    // $ne
    ["$ne different", "data.status", { $ne: "failed" }, true],
    ["$ne same", "data.status", { $ne: "completed" }, false],
    ['$ne 5 vs "5"', "data.count", { $ne: "5" }, true],
    ["$ne on missing", "data.absent", { $ne: "x" }, true],
    ["$ne null on null", "data.nothing", { $ne: null }, false],
    ["$ne null on missing", "data.absent", { $ne: null }, true],
    ["$ne deep equal object", "data.config", { $ne: { a: 1, b: [1, { c: 2 }] } }, false],
    // ordering: numbers with numbers
    ["$lt true", "data.summary.triage_accuracy", { $lt: 0.9 }, true],
    ["$lt false", "data.summary.triage_accuracy", { $lt: 0.8 }, false],
    ["$lt equal", "data.summary.triage_accuracy", { $lt: 0.87 }, false],
    ["$lte equal", "data.summary.triage_accuracy", { $lte: 0.87 }, true],
    ["$gt true", "data.summary.total_samples", { $gt: 499 }, true],
    ["$gt equal", "data.summary.total_samples", { $gt: 500 }, false],
    ["$gte equal", "data.summary.total_samples", { $gte: 500 }, true],
    ["$gte false", "data.summary.total_samples", { $gte: 501 }, false],
    ["$gt negative zero", "data.zero", { $gte: -0 }, true],
    // ordering: strings with strings, ISO dates by time
    ["$gt ISO date", "data.completed_at", { $gt: "2024-03-01T00:00:00Z" }, true],
    ["$lt ISO date", "data.completed_at", { $lt: "2024-03-01T00:00:00Z" }, false],
    ["$gte ISO date equal", "data.completed_at", { $gte: "2024-03-15T10:30:00Z" }, true],
    ["$lt ISO date prefix", "data.completed_at", { $lt: "2024-04" }, true],
    ["$gt string", "metadata.model_version", { $gt: "triage-v2.3" }, true],
    // ordering: never across types
    ['$gt "5" vs 4', "data.count_text", { $gt: 4 }, false],
    ['$lt "5" vs 6', "data.count_text", { $lt: 6 }, false],
    ['$gt 5 vs "4"', "data.count", { $gt: "4" }, false],
    ['$lte 5 vs "5"', "data.count", { $lte: "5" }, false],
    ["$gt null vs 0", "data.nothing", { $gt: -1 }, false],
    ["$lt null vs 1", "data.nothing", { $lt: 1 }, false],
    ["$gt false vs -1", "data.flag", { $gt: -1 }, false],
    ["$gt array vs number", "data.tags", { $gt: 0 }, false],
    ["$gt object vs string", "data.config", { $gt: "" }, false],
    ["$gt missing", "data.absent", { $gt: 0 }, false],
    ["$lt missing", "data.absent", { $lt: 0 }, false],
    // $in / $nin: deep equality against each item
    ["$in member", "metadata.model_version", { $in: ["triage-v2.4", "triage-v2.5"] }, true],
    ["$in not member", "metadata.model_version", { $in: ["triage-v2.3"] }, false],
    ['$in 5 vs ["5"]', "data.count", { $in: ["5"] }, false],
    ["$in null", "data.nothing", { $in: [null, 1] }, true],
    ["$in object", "data.config", { $in: [{ a: 1, b: [1, { c: 2 }] }] }, true],
    ["$in array value is compared whole", "data.tags", { $in: ["a"] }, false],
    ["$in missing", "data.absent", { $in: [null] }, false],
    ["$nin member", "metadata.model_version", { $nin: ["triage-v2.4"] }, false],
    ["$nin not member", "metadata.model_version", { $nin: ["triage-v2.3"] }, true],
    ["$nin missing", "data.absent", { $nin: ["x"] }, true],
    ["$nin null on null", "data.nothing", { $nin: [null] }, false],
    // $exists
    ["$exists true present", "data.status", { $exists: true }, true],
    ["$exists true on null", "data.nothing", { $exists: true }, true],
    ["$exists true on false", "data.flag", { $exists: true }, true],
    ["$exists true missing", "data.absent", { $exists: true }, false],
    ["$exists false missing", "data.absent", { $exists: false }, true],
    ["$exists false present", "data.status", { $exists: false }, false],
    ["$exists false under a missing parent", "data.absent.deeper", { $exists: false }, true],
    ["$exists false under a scalar", "data.status.length", { $exists: false }, true],
    // paths: numeric segments, nested arrays, own properties only
    ["array index", "data.items.0.name", { $eq: "x" }, true],
    ["second array index", "data.items.1.name", "y", true],
    ["index out of range", "data.items.2.name", { $exists: false }, true],
    ["nested array index", "data.items.1.scores.0.1", { $eq: 4 }, true],
    ["nested array index in a list", "data.items.0.scores.1", { $gte: 2 }, true],
    ["array index on tags", "data.tags.1", "b", true],
    ["numeric key on an object", "data.labels.0", "zero-key", true],
    ["leading-zero index is not an index", "data.tags.01", { $exists: false }, true],
    ["array length is not reachable", "data.tags.length", { $exists: false }, true],
    ["inherited property is not reachable", "data.config.toString", { $exists: false }, true],
    ["inherited hasOwnProperty is not reachable", "data.summary.hasOwnProperty", { $exists: true }, false],
    ["scalar has no children", "data.count.0", { $exists: true }, false],
  ];

  it.each(cases)("%s", (_name, path, condition, expected) => {
    expect(match(path, condition)).toBe(expected);
    // explainFilters must reach the same verdict as matching.
    expect(explainFilters({ [path]: condition }, envelope).matches).toBe(expected);
  });

  it("ANDs several operators on one path", () => {
    expect(match("data.summary.triage_accuracy", { $gte: 0.8, $lt: 0.9 })).toBe(true);
    expect(match("data.summary.triage_accuracy", { $gte: 0.8, $lt: 0.85 })).toBe(false);
    expect(match("data.summary.triage_accuracy", { $exists: true, $ne: 0.87 })).toBe(false);
  });

  it("ANDs all paths", () => {
    expect(payloadFiltersMatch({ "data.status": "completed", "metadata.model_version": { $in: ["triage-v2.4"] } }, envelope)).toBe(true);
    expect(payloadFiltersMatch({ "data.status": "completed", "metadata.model_version": { $in: ["x"] } }, envelope)).toBe(false);
  });

  it("let everything through without filters", () => {
    expect(payloadFiltersMatch(null, envelope)).toBe(true);
    expect(payloadFiltersMatch(undefined, envelope)).toBe(true);
    expect(payloadFiltersMatch({}, envelope)).toBe(true);
    expect(explainFilters(null, envelope)).toEqual({ matches: true, reasons: [] });
  });

  it("exclude on a missing path, unlike the seed's attribute filters", () => {
    const noData: FilterableEvent = { id: "evt_1", type: "x.y", data: {}, metadata: {} };
    expect(match("data.region", "eu", noData)).toBe(false);
    expect(match("data.region", { $in: ["eu"] }, noData)).toBe(false);
    expect(filtersMatch({ severity: ["high"] }, { type: "x.y", ...eventAttributes({ data: {} }) })).toBe(true);
  });

  it("fail closed on filters that are not valid", () => {
    expect(payloadFiltersMatch({ "data.status": { $regex: "comp" } }, envelope)).toBe(false);
    expect(payloadFiltersMatch({ "data.status": { $in: [] } }, envelope)).toBe(false);
    expect(payloadFiltersMatch({ "data.status": { $nin: "x" } }, envelope)).toBe(false);
    expect(payloadFiltersMatch({ created_at: "2024-03-15T10:30:00Z" }, envelope)).toBe(false);
    expect(payloadFiltersMatch({ "data.__proto__.x": { $exists: false } }, envelope)).toBe(false);
  });

  it("leave the seed keys to match.ts", () => {
    const filters = { projects: ["other"], "data.status": "completed" };
    expect(payloadFiltersMatch(filters, envelope)).toBe(true);
    expect(hasPayloadFilters(filters)).toBe(true);
    expect(hasPayloadFilters({ projects: ["a"], severity: ["high"] })).toBe(false);
    expect(hasPayloadFilters(null)).toBe(false);
  });

  it("follow only own properties, never the prototype", () => {
    const hostile = JSON.parse('{"id":"e","type":"t","data":{"__proto__":{"polluted":1}},"metadata":{}}') as FilterableEvent;
    expect(resolvePath(hostile, "data.polluted")).toEqual({ found: false });
    expect(resolvePath(envelope, "data.constructor")).toEqual({ found: false });
    expect(resolvePath(envelope, "data.nothing")).toEqual({ found: true, value: null });
  });

  it("compare JSON values deeply", () => {
    expect(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual(1, 1.0)).toBe(true);
  });
});

describe("seed keys together with payload paths", () => {
  const filters = {
    projects: ["patient-triage", "symptom-checker"],
    severity: ["high", "critical"],
    "data.summary.triage_accuracy": { $lt: 0.9 },
    "metadata.model_version": { $in: ["triage-v2.4"] },
  };
  const both = (f: Record<string, unknown>, e: FilterableEvent) =>
    filtersMatch(f, { type: e.type ?? "", ...eventAttributes({ project_id: e.project_id, severity: e.severity, data: e.data }) }) &&
    payloadFiltersMatch(f, e);

  const cases: Array<[string, FilterableEvent, boolean]> = [
    ["everything matches; no severity does not exclude", envelope, true],
    ["listed severity from the ingest body", { ...envelope, severity: "critical" }, true],
    ["unlisted severity", { ...envelope, severity: "low" }, false],
    ["ingest project_id overrides data's", { ...envelope, project_id: "other" }, false],
    ["payload path fails", { ...envelope, metadata: { model_version: "triage-v1" } }, false],
    ["payload path missing", { ...envelope, metadata: {} }, false],
  ];

  it.each(cases)("%s", (_name, event, expected) => {
    const explained = explainFilters(filters, event);
    expect(explained.matches).toBe(expected);
    expect(both(filters, event)).toBe(expected);
  });
});

describe("explainFilters", () => {
  it("says for each filter whether it passed and why", () => {
    const result = explainFilters(
      {
        projects: ["patient-triage"],
        severity: ["high"],
        "data.summary.triage_accuracy": { $lt: 0.8, $gt: 0.5 },
        "data.region": { $in: ["eu"] },
        "data.status": "completed",
        "metadata.model_version": { $exists: true },
      },
      envelope,
    );
    expect(result.matches).toBe(false);
    expect(result.reasons).toEqual([
      { filter: "projects", passed: true, detail: 'project_id is "patient-triage", which is one of ["patient-triage"]' },
      { filter: "severity", passed: true, detail: "the event has no severity, so this filter does not apply" },
      { filter: "data.summary.triage_accuracy.$lt", passed: false, detail: "data.summary.triage_accuracy is 0.87, which is not < 0.8" },
      { filter: "data.summary.triage_accuracy.$gt", passed: true, detail: "data.summary.triage_accuracy is 0.87, which is > 0.5" },
      { filter: "data.region.$in", passed: false, detail: "data.region is missing" },
      { filter: "data.status", passed: true, detail: 'data.status is "completed", which equals "completed"' },
      { filter: "metadata.model_version.$exists", passed: true, detail: 'metadata.model_version exists (its value is "triage-v2.4")' },
    ]);
  });

  const wording: Array<[string, unknown, boolean, string]> = [
    ["data.status", { $ne: "completed" }, false, 'data.status is "completed", which equals "completed"'],
    ["data.status", { $ne: "failed" }, true, 'data.status is "completed", which is not equal to "failed"'],
    ["data.region", { $ne: "eu" }, true, 'data.region is missing, so it is not equal to "eu"'],
    ["data.region", { $nin: ["eu"] }, true, 'data.region is missing, so it is not one of ["eu"]'],
    ["data.region", { $exists: false }, true, "data.region is missing"],
    ["data.status", { $exists: false }, false, 'data.status exists (its value is "completed")'],
    ["data.status", { $eq: "failed" }, false, 'data.status is "completed", which is not equal to "failed"'],
    ["metadata.model_version", { $in: ["triage-v2.3"] }, false, 'metadata.model_version is "triage-v2.4", which is not one of ["triage-v2.3"]'],
    ["metadata.model_version", { $nin: ["triage-v2.4"] }, false, 'metadata.model_version is "triage-v2.4", which is one of ["triage-v2.4"]'],
    ["data.count_text", { $gt: 4 }, false, 'data.count_text is "5" (a string), which cannot be compared with 4 (a number)'],
    ["data.nothing", { $lt: 1 }, false, "data.nothing is null (null), which cannot be compared with 1 (a number)"],
    ["data.config", { $gt: "a" }, false, 'data.config is {"a":1,"b":[1,{"c":2}]} (an object), which cannot be compared with "a" (a string)'],
    ["data.completed_at", { $gte: "2024-03-16" }, false, 'data.completed_at is "2024-03-15T10:30:00Z", which is not >= "2024-03-16"'],
    ["data.summary.total_samples", { $lte: 500 }, true, "data.summary.total_samples is 500, which is <= 500"],
  ];

  it.each(wording)("%s %j", (path, condition, passed, detail) => {
    const [reason] = explainFilters({ [path]: condition }, envelope).reasons;
    expect(reason).toMatchObject({ passed, detail });
  });

  it("explains the seed keys with match.ts's semantics", () => {
    const low = { ...envelope, severity: "low" };
    expect(explainFilters({ severity: ["high", "critical"] }, low).reasons[0]).toEqual({
      filter: "severity",
      passed: false,
      detail: 'severity is "low", which is not one of ["high","critical"]',
    });
    const noProject = { ...envelope, data: {} };
    expect(explainFilters({ projects: ["a"] }, noProject)).toEqual({
      matches: true,
      reasons: [{ filter: "projects", passed: true, detail: "the event has no project_id, so this filter does not apply" }],
    });
  });

  it("shortens long values", () => {
    const long = { ...envelope, data: { text: "x".repeat(500) } };
    const [reason] = explainFilters({ "data.text": "y" }, long).reasons;
    expect(reason!.detail.length).toBeLessThan(150);
    expect(reason!.detail).toContain("...");
  });

  it("reports invalid filters as failing", () => {
    expect(explainFilters({ "data.status": { $regex: "c" }, nonsense: 1, "data.x": { $in: [] } }, envelope)).toEqual({
      matches: false,
      reasons: [
        { filter: "data.status.$regex", passed: false, detail: 'unknown operator "$regex"' },
        { filter: "nonsense", passed: false, detail: 'not a valid filter: must be "type", "id", or a dotted path starting with "data." or "metadata."' },
        { filter: "data.x.$in", passed: false, detail: "not a valid filter: $in needs a non-empty array" },
      ],
    });
  });
});

describe("validatePayloadFilters", () => {
  it("accepts the seed's filters, payload paths and no filters", () => {
    expect(validatePayloadFilters(undefined)).toEqual([]);
    expect(validatePayloadFilters(null)).toEqual([]);
    expect(validatePayloadFilters({})).toEqual([]);
    expect(
      validatePayloadFilters({
        projects: ["patient-triage", "symptom-checker"],
        severity: ["high", "critical"],
        "data.summary.triage_accuracy": { $lt: 0.8, $gte: 0 },
        "metadata.model_version": { $in: ["triage-v2.4"] },
        "data.items.0.name": { $eq: "x" },
        "data.status": "completed",
        "data.config": { a: 1 },
        "data.completed_at": { $gt: "2024-03-01" },
        "data.nothing": { $eq: null, $ne: 1, $nin: [null, { a: 1 }], $exists: true },
        type: "evaluation.completed",
        id: { $ne: "evt_1" },
      }),
    ).toEqual([]);
  });

  const cases: Array<[string, unknown, Array<{ field: string; message: string | RegExp }>]> = [
    ["not an object", ["data.x"], [{ field: "filters", message: "must be an object" }]],
    ["a string", "data.x", [{ field: "filters", message: "must be an object" }]],
    [
      "unknown operator",
      { "data.summary.triage_accuracy": { $lt: 0.8, $regex: "x" } },
      [{ field: "filters.data.summary.triage_accuracy.$regex", message: `unknown operator "$regex"; valid operators are ${FILTER_OPERATORS.join(", ")}` }],
    ],
    [
      "operators mixed with plain keys",
      { "data.config": { $eq: 1, a: 1 } },
      [{ field: "filters.data.config.a", message: /cannot mix operators with plain keys/ }],
    ],
    ["empty operator object", { "data.x": {} }, [{ field: "filters.data.x", message: /needs at least one operator/ }]],
    ["$gt with a boolean", { "data.x": { $gt: true } }, [{ field: "filters.data.x.$gt", message: "$gt needs a number or a string" }]],
    ["$gte with null", { "data.x": { $gte: null } }, [{ field: "filters.data.x.$gte", message: "$gte needs a number or a string" }]],
    ["$lt with an array", { "data.x": { $lt: [1] } }, [{ field: "filters.data.x.$lt", message: "$lt needs a number or a string" }]],
    ["$lte with an object", { "data.x": { $lte: { a: 1 } } }, [{ field: "filters.data.x.$lte", message: "$lte needs a number or a string" }]],
    ["$in with an empty array", { "data.x": { $in: [] } }, [{ field: "filters.data.x.$in", message: "$in needs a non-empty array" }]],
    ["$in with a scalar", { "data.x": { $in: "a" } }, [{ field: "filters.data.x.$in", message: "$in needs a non-empty array" }]],
    ["$nin with an object", { "data.x": { $nin: { a: 1 } } }, [{ field: "filters.data.x.$nin", message: "$nin needs a non-empty array" }]],
    [
      "$in with too many values",
      { "data.x": { $in: Array.from({ length: 101 }, (_, i) => i) } },
      [{ field: "filters.data.x.$in", message: "$in takes at most 100 values" }],
    ],
    ["$exists with a string", { "data.x": { $exists: "yes" } }, [{ field: "filters.data.x.$exists", message: "$exists needs a boolean (true or false)" }]],
    ["$exists with 1", { "data.x": { $exists: 1 } }, [{ field: "filters.data.x.$exists", message: "$exists needs a boolean (true or false)" }]],
    ["a path outside data/metadata", { created_at: { $gt: "2024" } }, [{ field: "filters.created_at", message: /must be "type", "id", or a dotted path/ }]],
    ["unknown top-level key", { project: ["a"] }, [{ field: "filters.project", message: /must be "type", "id", or a dotted path/ }]],
    ["data alone", { data: { a: 1 } }, [{ field: "filters.data", message: /must be "type", "id", or a dotted path/ }]],
    ["type with a subpath", { "type.x": "a" }, [{ field: "filters.type.x", message: /must be "type", "id", or a dotted path/ }]],
    ["empty segment", { "data..x": 1 }, [{ field: "filters.data..x", message: "path has an empty segment" }]],
    ["trailing dot", { "data.x.": 1 }, [{ field: "filters.data.x.", message: "path has an empty segment" }]],
    ["__proto__ segment", { "data.__proto__.x": 1 }, [{ field: "filters.data.__proto__.x", message: 'path segment "__proto__" is not allowed' }]],
    ["constructor segment", { "metadata.constructor": 1 }, [{ field: "filters.metadata.constructor", message: 'path segment "constructor" is not allowed' }]],
    ["prototype segment", { "data.a.prototype": 1 }, [{ field: "filters.data.a.prototype", message: 'path segment "prototype" is not allowed' }]],
    ["too many segments", { "data.a.b.c.d.e.f.g.h.i.j": 1 }, [{ field: "filters.data.a.b.c.d.e.f.g.h.i.j", message: "path has more than 10 segments" }]],
    [
      "path too long",
      { [`data.${"a".repeat(200)}`]: 1 },
      [{ field: `filters.data.${"a".repeat(195)}`, message: "path is longer than 200 characters" }],
    ],
    [
      "too many paths",
      Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`data.f${i}`, i])),
      [{ field: "filters", message: "has 21 payload paths; at most 20 are allowed" }],
    ],
    [
      "too large",
      { "data.x": { $in: Array.from({ length: 100 }, (_, i) => `value-${i}-${"x".repeat(80)}`) } },
      [{ field: "filters", message: /^is \d+ bytes when serialized; at most 8192 are allowed$/ }],
    ],
    ["projects not an array", { projects: "patient-triage" }, [{ field: "filters.projects", message: "must be an array of 1 to 100 strings" }]],
    ["projects empty", { projects: [] }, [{ field: "filters.projects", message: "must be an array of 1 to 100 strings" }]],
    [
      "projects too many",
      { projects: Array.from({ length: 101 }, (_, i) => `p${i}`) },
      [{ field: "filters.projects", message: "must be an array of 1 to 100 strings" }],
    ],
    [
      "projects with bad items",
      { projects: ["ok", "", 7, "x".repeat(201)] },
      [
        { field: "filters.projects.1", message: "must be a non-empty string of at most 200 characters" },
        { field: "filters.projects.2", message: "must be a non-empty string of at most 200 characters" },
        { field: "filters.projects.3", message: "must be a non-empty string of at most 200 characters" },
      ],
    ],
    ["severity not strings", { severity: [null] }, [{ field: "filters.severity.0", message: "must be a non-empty string of at most 200 characters" }]],
    ["severity an object", { severity: { high: true } }, [{ field: "filters.severity", message: "must be an array of 1 to 100 strings" }]],
  ];

  it.each(cases)("%s", (_name, filters, expected) => {
    const issues = validatePayloadFilters(filters);
    expect(issues).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(issues[i]!.field).toBe(e.field);
      if (typeof e.message === "string") expect(issues[i]!.message).toBe(e.message);
      else expect(issues[i]!.message).toMatch(e.message);
    });
  });

  it("accepts exactly the limits", () => {
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`data.f${i}`, i]));
    expect(validatePayloadFilters({ ...twenty, projects: ["a"], severity: ["b"] })).toEqual([]);
    expect(validatePayloadFilters({ "data.a.b.c.d.e.f.g.h.i": 1 })).toEqual([]);
    expect(validatePayloadFilters({ [`data.${"a".repeat(195)}`]: 1 })).toEqual([]);
    expect(validatePayloadFilters({ "data.x": { $in: Array.from({ length: 100 }, (_, i) => i) } })).toEqual([]);
    expect(validatePayloadFilters({ projects: Array.from({ length: 100 }, (_, i) => `p${i}`) })).toEqual([]);
  });

  it("reports every problem, not just the first", () => {
    const issues = validatePayloadFilters({ "data.a": { $gt: true }, "data.b": { $in: [] }, bad: 1, projects: [] });
    expect(issues.map((i) => i.field)).toEqual(["filters.data.a.$gt", "filters.data.b.$in", "filters.bad", "filters.projects"]);
  });
});
