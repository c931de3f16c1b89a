import { DrizzleQueryError } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { isTransientStorageError, STORAGE_ERROR_PATTERNS, storageErrorKind, withStorageRetry } from "../src/dispatch/storage-retry";

/** A call that fails `failures` times with `error`, then answers `value`. */
function flaky<T>(failures: number, error: Error, value: T) {
  let calls = 0;
  const call = async () => {
    calls += 1;
    if (calls <= failures) throw error;
    return value;
  };
  return { call, calls: () => calls };
}

/**
 * Real messages, as Cloudflare documents them (D1: "List of D1_ERRORs" with "Retry the operation",
 * and the overload rows; Durable Objects: "Troubleshooting → Common errors") and as local SQLite says them.
 */
const TRANSIENT: Array<[string, "transient" | "overloaded"]> = [
  ["SQLITE_BUSY: database is locked", "transient"],
  ["database is locked: SQLITE_BUSY", "transient"],
  ["D1_ERROR: Network connection lost.", "transient"],
  ["Network connection lost.", "transient"],
  ["D1_ERROR: D1 DB reset because its code was updated.", "transient"],
  ["Durable Object reset because its code was updated.", "transient"],
  ["D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.", "transient"],
  ["D1_ERROR: Internal error in D1 DB storage caused object to be reset.", "transient"],
  ["D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.", "transient"],
  ["D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.", "transient"],
  ["Durable Object storage operation exceeded timeout which caused object to be reset.", "transient"],
  ["D1_ERROR: Can't read from request stream because client disconnected.", "transient"],
  ["Connection closed: this Durable Object instance is no longer active. Reconnect or retry the request.", "transient"],
  ["internal error; reference = 0123456789abcdefghij", "transient"],
  ["D1_ERROR: D1 DB is overloaded. Too many requests queued.", "overloaded"],
  ["D1_ERROR: D1 DB is overloaded. Requests queued for too long.", "overloaded"],
  ["Durable Object is overloaded. Too many requests queued.", "overloaded"],
  ["Durable Object is overloaded. Too many requests for the same object within a 10 second window.", "overloaded"],
  ["Your account is doing too many concurrent storage operations. Please back off and try again later.", "overloaded"],
  ["Your account is generating too much load on Durable Objects. Please back off and try again later.", "overloaded"],
];

/** Bugs, not weather: waiting changes nothing, so they are never repeated and stay a 500. */
const NOT_TRANSIENT = [
  "D1_ERROR: UNIQUE constraint failed: events.account_id, events.id: SQLITE_CONSTRAINT",
  "D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT",
  "D1_ERROR: NOT NULL constraint failed: events.type: SQLITE_CONSTRAINT",
  'D1_ERROR: near "SELEC": syntax error at offset 0: SQLITE_ERROR',
  'D1_EXEC_ERROR: Error in line 1: INSERTZ INTO t VALUES (): sql error: near "INSERTZ": syntax error',
  "D1_ERROR: no such table: events: SQLITE_ERROR",
  "D1_ERROR: no such column: nope: SQLITE_ERROR",
  "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
  "D1_ERROR: too many SQL variables at offset 120: SQLITE_ERROR",
  "D1_ERROR: D1 DB exceeded its CPU time limit and was reset.",
  "alarm time must be a number",
  "Internal error",
];

describe("the transient storage errors", () => {
  it.each(TRANSIENT)("%s is %s", (message, kind) => {
    expect(storageErrorKind(new Error(message))).toBe(kind);
    expect(isTransientStorageError(new Error(message))).toBe(true);
  });

  it.each(NOT_TRANSIENT)("%s is not transient", (message) => {
    expect(storageErrorKind(new Error(message))).toBeNull();
    expect(isTransientStorageError(new Error(message))).toBe(false);
  });

  it("pins every pattern with a real message", () => {
    for (const p of STORAGE_ERROR_PATTERNS) {
      expect(TRANSIENT.some(([m, kind]) => p.pattern.test(m) && kind === p.kind), `${p.pattern} (${p.why})`).toBe(true);
      expect(NOT_TRANSIENT.some((m) => p.pattern.test(m)), `${p.pattern} matches no bug`).toBe(false);
      expect(p.why.length).toBeGreaterThan(20);
    }
  });

  it("reads through causes (drizzle's query error, an RPC's wrapper) but not drizzle's params", () => {
    const d1 = new Error("D1_ERROR: Network connection lost.");
    expect(storageErrorKind(new DrizzleQueryError("insert into events ...", ["x"], d1))).toBe("transient");
    expect(storageErrorKind(new Error("handing over failed", { cause: new Error("wrapped", { cause: d1 }) }))).toBe("transient");
    // Event data that happens to say "database is locked" does not make a constraint violation transient.
    const bug = new DrizzleQueryError("insert into events ...", ['{"note":"database is locked"}'], new Error("D1_ERROR: UNIQUE constraint failed: events.id: SQLITE_CONSTRAINT"));
    expect(storageErrorKind(bug)).toBeNull();
  });

  it("honours the .overloaded and .retryable flags of Durable Object errors", () => {
    expect(storageErrorKind(Object.assign(new Error("something"), { overloaded: true }))).toBe("overloaded");
    expect(storageErrorKind(Object.assign(new Error("something"), { retryable: true }))).toBe("transient");
    expect(storageErrorKind(Object.assign(new Error("no such table: x"), { retryable: false }))).toBeNull();
  });
});

describe("withStorageRetry", () => {
  it("repeats SQLITE_BUSY until the call succeeds", async () => {
    const f = flaky(2, new Error("SQLITE_BUSY: database is locked"), 42);
    await expect(withStorageRetry(f.call, [1, 1, 1])).resolves.toBe(42);
    expect(f.calls()).toBe(3);
  });

  it("repeats each transient message", async () => {
    for (const [message] of TRANSIENT.filter(([, kind]) => kind === "transient")) {
      const f = flaky(1, new Error(message), "ok");
      await expect(withStorageRetry(f.call, [1])).resolves.toBe("ok");
      expect(f.calls(), message).toBe(2);
    }
  });

  it("gives up after the last pause and throws the storage error", async () => {
    const f = flaky(10, new Error("SQLITE_BUSY: database is locked"), 0);
    await expect(withStorageRetry(f.call, [1, 1])).rejects.toThrow(/SQLITE_BUSY/);
    expect(f.calls()).toBe(3);
  });

  it("does not repeat an error that waiting cannot cure", async () => {
    for (const message of NOT_TRANSIENT) {
      const f = flaky(1, new Error(message), 0);
      await expect(withStorageRetry(f.call, [1, 1])).rejects.toThrow(message);
      expect(f.calls(), message).toBe(1);
    }
  });

  it("does not repeat an overload on the spot (that worsens it)", async () => {
    const f = flaky(1, new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued."), 0);
    await expect(withStorageRetry(f.call, [1, 1])).rejects.toThrow(/overloaded/);
    expect(f.calls()).toBe(1);
  });
});
