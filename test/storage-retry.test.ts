import { describe, expect, it } from "vitest";
import { isTransientStorageError, withStorageRetry } from "../src/dispatch/storage-retry";

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

describe("withStorageRetry", () => {
  it("repeats SQLITE_BUSY until the call succeeds", async () => {
    const f = flaky(2, new Error("SQLITE_BUSY: database is locked"), 42);
    await expect(withStorageRetry(f.call, [1, 1, 1])).resolves.toBe(42);
    expect(f.calls()).toBe(3);
  });

  it("gives up after the last pause and throws the storage error", async () => {
    const f = flaky(10, new Error("SQLITE_BUSY: database is locked"), 0);
    await expect(withStorageRetry(f.call, [1, 1])).rejects.toThrow(/SQLITE_BUSY/);
    expect(f.calls()).toBe(3);
  });

  it("does not repeat an error that waiting cannot cure", async () => {
    const f = flaky(1, new TypeError("alarm time must be a number"), 0);
    await expect(withStorageRetry(f.call, [1, 1])).rejects.toThrow(TypeError);
    expect(f.calls()).toBe(1);
  });

  it("tells transient storage errors from others", () => {
    expect(isTransientStorageError(new Error("SQLITE_BUSY: database is locked"))).toBe(true);
    expect(isTransientStorageError(new Error("D1_ERROR: no such table: events"))).toBe(false);
  });
});
