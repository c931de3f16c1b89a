/// <reference types="vite/client" />
// The source's floors (issue 15 part 3): an import goes down or sideways, never up, and no import
// circles back. Top: routes, middleware, dashboard, schemas and the files at src/ (app, index,
// types). Middle: dispatch, delivery, metrics. Ground: db, lib.
//
// The tests run inside workerd, where node:fs cannot read the repository, so Vite reads the
// sources at transform time (import.meta.glob with ?raw) and hands them over as strings.
import { describe, expect, it } from "vitest";

const SOURCES = import.meta.glob("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

/** Each folder's floor; higher floors may import lower ones. A new folder must be given one here. */
const FLOORS: Record<string, number> = {
  "(root)": 2,
  routes: 2,
  middleware: 2,
  dashboard: 2,
  schemas: 2,
  dispatch: 1,
  delivery: 1,
  metrics: 1,
  db: 0,
  lib: 0,
};

/** The files one file imports (static, type-only, re-exports, side effects and dynamic `import()`). */
type Graph = Map<string, string[]>;

/** Relative module specifiers of `source`. Anchored at a line start, so prose in comments does not count. */
function relativeSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']*)["']/gm,
    /^[ \t]*import\s*["'](\.[^"']*)["']/gm,
    /\bimport\(\s*["'](\.[^"']*)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

/** `a/b/../c` → `a/c`. */
function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

/** The source file a specifier names, as the bundler resolves it; null when none matches. */
function resolve(from: string, specifier: string, files: ReadonlySet<string>): string | null {
  const base = normalise(`${from.slice(0, from.lastIndexOf("/"))}/${specifier}`);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`]) {
    if (files.has(candidate)) return candidate;
  }
  return null;
}

/** The import graph of `sources` (paths like `src/lib/ids.ts`), and the specifiers that resolve to no file. */
function importGraph(sources: Record<string, string>): { graph: Graph; unresolved: string[] } {
  const files = new Set(Object.keys(sources));
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const [file, source] of Object.entries(sources)) {
    const targets: string[] = [];
    for (const specifier of relativeSpecifiers(source)) {
      const target = resolve(file, specifier, files);
      if (target) targets.push(target);
      else unresolved.push(`${file}: ${specifier}`);
    }
    graph.set(file, targets);
  }
  return { graph, unresolved };
}

/** The floor folder of `src/...`: its first folder, or `(root)` for a file directly in src/. */
function folderOf(file: string): string {
  const parts = file.split("/");
  return parts.length > 2 ? parts[1]! : "(root)";
}

/** Every import from a lower floor to a higher one, as `from -> to`. */
function upwardImports(graph: Graph, floors: Record<string, number>): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) if ((floors[folderOf(to)] ?? -1) > (floors[folderOf(from)] ?? -1)) found.push(`${from} -> ${to}`);
  }
  return found;
}

/** The import circles: strongly connected groups of more than one file, or a file importing itself (Tarjan). */
function importCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

// Keys come as `../src/...` (relative to this file); the checks speak of `src/...`.
const sources = Object.fromEntries(Object.entries(SOURCES).map(([key, text]) => [key.replace(/^\.\.\//, ""), text]));
const { graph, unresolved } = importGraph(sources);

describe("source layers", () => {
  it("reads the whole source tree (an empty glob would pass everything below)", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("src/app.ts")).toContain("src/routes/router.ts");
    expect(unresolved).toEqual([]);
  });

  it("gives every folder under src/ a floor", () => {
    const folders = [...new Set([...graph.keys()].map(folderOf))];
    expect(folders.filter((f) => !(f in FLOORS))).toEqual([]);
  });

  it("never imports from a higher floor", () => {
    expect(upwardImports(graph, FLOORS)).toEqual([]);
  });

  it("has no import circles", () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe("the layer checks themselves", () => {
  const fake = {
    "src/lib/a.ts": 'import { b } from "../routes/b";\nimport type { C } from "./c";\n// import { x } from "../dispatch/x";\n',
    "src/lib/c.ts": 'export type { A } from "./a";\n',
    "src/routes/b.ts": 'import {\n  a,\n} from "../lib/a";\nconst later = () => import("../dispatch/d");\n',
    "src/dispatch/d.ts": 'import "../db/e";\n',
    "src/db/e.ts": "export const e = 1;\n",
  };
  const { graph: g, unresolved: missing } = importGraph(fake);

  it("sees static, type-only, multi-line, re-exported, side-effect and dynamic imports, not commented ones", () => {
    expect(missing).toEqual([]);
    expect(g.get("src/lib/a.ts")).toEqual(["src/routes/b.ts", "src/lib/c.ts"]);
    expect(g.get("src/routes/b.ts")).toEqual(["src/lib/a.ts", "src/dispatch/d.ts"]);
    expect(g.get("src/dispatch/d.ts")).toEqual(["src/db/e.ts"]);
  });

  it("reports an upward import and the circles", () => {
    expect(upwardImports(g, FLOORS)).toEqual(["src/lib/a.ts -> src/routes/b.ts"]);
    expect(importCycles(g)).toEqual([["src/lib/a.ts", "src/lib/c.ts", "src/routes/b.ts"]]);
  });
});
