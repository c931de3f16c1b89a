import { describe, expect, it } from "vitest";
import { eventAttributes, filtersMatch, patternMatches, webhookMatches } from "../src/dispatch/match";

const ev = (type: string, projectId: string | null = null, severity: string | null = null) => ({ type, projectId, severity });

describe("event type patterns", () => {
  it("match exact types, prefix wildcards and *", () => {
    expect(patternMatches("evaluation.completed", "evaluation.completed")).toBe(true);
    expect(patternMatches("evaluation.completed", "evaluation.failed")).toBe(false);
    expect(patternMatches("evaluation.*", "evaluation.failed")).toBe(true);
    expect(patternMatches("evaluation.*", "evaluations.failed")).toBe(false);
    expect(patternMatches("evaluation.*", "review.completed")).toBe(false);
    expect(patternMatches("*", "safety.critical")).toBe(true);
  });
});

describe("the seed's filters", () => {
  const seed = {
    events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
    filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
  };

  it("let through events of listed projects and severities", () => {
    expect(webhookMatches(seed, ev("safety.critical", "patient-triage", "critical"))).toBe(true);
    expect(webhookMatches(seed, ev("safety.critical", "patient-triage", "low"))).toBe(false);
    expect(webhookMatches(seed, ev("safety.critical", "other", "critical"))).toBe(false);
    expect(webhookMatches(seed, ev("sample.scored", "patient-triage", "critical"))).toBe(false);
  });

  it("do not exclude evaluation.completed, which carries no severity", () => {
    expect(webhookMatches(seed, ev("evaluation.completed", "patient-triage", null))).toBe(true);
    expect(webhookMatches(seed, ev("evaluation.completed", "symptom-checker"))).toBe(true);
  });

  it("do not exclude events without a project either, but exclude other projects", () => {
    expect(filtersMatch({ projects: ["a"] }, ev("x.y"))).toBe(true);
    expect(filtersMatch({ projects: ["a"] }, ev("x.y", "b"))).toBe(false);
    expect(filtersMatch(null, ev("x.y", "b"))).toBe(true);
  });

  it("read attributes from the ingest body first, then from data", () => {
    expect(eventAttributes({ data: { project_id: "patient-triage", severity: "high" } })).toEqual({ projectId: "patient-triage", severity: "high" });
    expect(eventAttributes({ project_id: "p", severity: "low", data: { project_id: "q", severity: "high" } })).toEqual({ projectId: "p", severity: "low" });
    expect(eventAttributes({ data: { project_id: 7 } })).toEqual({ projectId: null, severity: null });
  });
});
