// Storage that fails on purpose: wrappers around a D1 binding or a queue whose first calls throw a
// given error (before the call reaches storage, or after it did: the write happened, the answer was lost).

/** How a wrapped binding fails: the first `times` calls throw `message`, `when` relative to the real call. */
export interface Fault {
  times: number;
  message: string;
  when?: "before" | "after";
  /** faultyD1 only: just the statements whose SQL matches (the others pass untouched). */
  only?: RegExp;
}

/** A fault's state: how many calls it saw and how many it failed. */
export interface FaultCounter {
  calls: number;
  failed: number;
}

async function faulty<T>(fault: Fault, counter: FaultCounter, call: () => Promise<T>): Promise<T> {
  counter.calls += 1;
  const fail = counter.failed < fault.times;
  if (fail && fault.when !== "after") {
    counter.failed += 1;
    throw new Error(fault.message);
  }
  const result = await call();
  if (fail) {
    counter.failed += 1;
    throw new Error(fault.message);
  }
  return result;
}

/** `d1`, but its `batch()` (every write of ingest, the attempt records) fails as `fault` says. */
export function faultyBatchD1(d1: D1Database, fault: Fault): { db: D1Database; counter: FaultCounter } {
  const counter: FaultCounter = { calls: 0, failed: 0 };
  const db = new Proxy(d1, {
    get(target, prop) {
      if (prop === "batch") return (statements: D1PreparedStatement[]) => faulty(fault, counter, () => target.batch(statements));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, counter };
}

/** `d1`, but every statement's first/all/raw/run, and `batch()`, fail as `fault` says (one counter for all). */
export function faultyD1(d1: D1Database, fault: Fault): { db: D1Database; counter: FaultCounter } {
  const counter: FaultCounter = { calls: 0, failed: 0 };
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values));
        if (prop === "first" || prop === "all" || prop === "raw" || prop === "run") {
          return (...args: unknown[]) => faulty(fault, counter, () => (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        }
        if (prop === UNWRAPPED) return target;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => (fault.only && !fault.only.test(query) ? target.prepare(query) : wrapStatement(target.prepare(query)));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) =>
          faulty(fault, counter, () => target.batch(statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[UNWRAPPED] ?? s)));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, counter };
}

const UNWRAPPED = Symbol("unwrapped statement");

/** A queue whose `send`/`sendBatch` fail as `fault` says. */
export function faultyQueue<T>(queue: Queue<T>, fault: Fault): { queue: Queue<T>; counter: FaultCounter } {
  const counter: FaultCounter = { calls: 0, failed: 0 };
  const wrapped = new Proxy(queue, {
    get(target, prop) {
      if (prop === "send" || prop === "sendBatch") {
        return (...args: unknown[]) => faulty(fault, counter, () => (target[prop] as unknown as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { queue: wrapped, counter };
}
