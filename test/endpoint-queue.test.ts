import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EndpointQueue } from "../src/dispatch/endpoint-queue";
import { UsageMeter } from "../src/metrics/usage-meter";

/** Runs `fn` with an EndpointQueue over a fresh object's storage, and the meter counting its rows. */
function withQueue<T>(fn: (q: EndpointQueue, meter: UsageMeter, sql: SqlStorage) => T): Promise<T> {
  const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(`queue-test-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_o, state) => {
    const meter = new UsageMeter();
    const q = new EndpointQueue(state.storage.sql, meter);
    q.create();
    return fn(q, meter, state.storage.sql);
  });
}

const NOW = 1_000_000;
/** DO rows written counted so far (taking the counts out of the meter). */
let written = 0;
const rowsWritten = (m: UsageMeter) => {
  for (const counters of m.take().values()) written += counters.do_rows_written ?? 0;
  return written;
};

describe("the endpoint's stored queue", () => {
  it("stores a hand-over as one row and clears it with one more, however many deliveries it holds", () =>
    withQueue((q, meter) => {
      written = 0;
      rowsWritten(meter);
      written = 0;
      const ids = Array.from({ length: 50 }, (_, i) => `dlv_${String(i).padStart(3, "0")}`);
      q.store(ids, "scheduled");
      expect(rowsWritten(meter)).toBe(1);
      const round = q.round(true, NOW, 50)!;
      expect(round.ids).toEqual(ids);
      q.settle(round, new Map(ids.map((id) => [id, null])));
      expect(rowsWritten(meter)).toBe(2);
      expect(q.isEmpty()).toBe(true);
    }));

  it("FIFO merges batches whose ids interleave", () =>
    withQueue((q) => {
      q.store(["dlv_1", "dlv_5"], "scheduled");
      q.store(["dlv_3"], "scheduled");
      expect(q.round(true, NOW, 50)!.ids).toEqual(["dlv_1", "dlv_3", "dlv_5"]);
    }));

  it("FIFO stops at a delivery waiting for its retry; parallel does not", () =>
    withQueue((q) => {
      q.store(["dlv_1", "dlv_5"], "scheduled");
      q.retryAt("dlv_3", NOW + 1000);
      expect(q.round(true, NOW, 50)!.ids).toEqual(["dlv_1"]);
      expect(q.round(false, NOW, 50)!.ids).toEqual(["dlv_1", "dlv_5"]);
      expect(q.nextRetryAt(true)).toBe(NOW + 1000);
      expect(q.round(true, NOW + 1000, 50)!.ids).toEqual(["dlv_1", "dlv_3", "dlv_5"]);
    }));

  it("never sends early a copy of a delivery that waits for its retry", () =>
    withQueue((q) => {
      q.retryAt("dlv_1", NOW + 1000);
      q.store(["dlv_1", "dlv_2"], "scheduled");
      expect(q.round(true, NOW, 50)).toBeNull();
      expect(q.round(false, NOW, 50)!.ids).toEqual(["dlv_2"]);
      expect(q.length()).toBe(2);
    }));

  it("settles a round: finished go, failures get their own retry row, held and unattempted stay", () =>
    withQueue((q) => {
      q.store(["dlv_1", "dlv_2", "dlv_3", "dlv_4"], "manual");
      const round = q.round(true, NOW, 50)!;
      expect(round.triggers.get("dlv_2")).toBe("manual");
      q.settle(round, new Map<string, number | null | "hold">([["dlv_1", null], ["dlv_2", NOW + 500], ["dlv_3", "hold"]]));
      expect(q.ids()).toEqual(["dlv_2", "dlv_3", "dlv_4"]);
      // The failure blocks the rest in FIFO until it is due; its trigger is kept.
      expect(q.round(true, NOW, 50)).toBeNull();
      const later = q.round(true, NOW + 500, 50)!;
      expect(later.ids).toEqual(["dlv_2", "dlv_3", "dlv_4"]);
      expect(later.triggers.get("dlv_2")).toBe("manual");
      q.settle(later, new Map(later.ids.map((id) => [id, null])));
      expect(q.isEmpty()).toBe(true);
    }));

  it("takes at most `limit` deliveries a round, the rest staying for the next", () =>
    withQueue((q) => {
      q.store(["dlv_1", "dlv_2", "dlv_3"], "scheduled");
      const first = q.round(true, NOW, 2)!;
      expect(first.ids).toEqual(["dlv_1", "dlv_2"]);
      q.settle(first, new Map(first.ids.map((id) => [id, null])));
      expect(q.round(true, NOW, 2)!.ids).toEqual(["dlv_3"]);
    }));

  it("lets later hand-overs join the last batch, and keeps those that joined while a round was being sent", () =>
    withQueue((q, _m, sql) => {
      q.store(["dlv_1", "dlv_2"], "scheduled");
      const round = q.round(true, NOW, 50)!;
      // Arrives during the round's sends: joins the same row.
      q.store(["dlv_3", "dlv_4"], "scheduled");
      expect(sql.exec("SELECT count(*) AS n FROM queue_batches").one().n).toBe(1);
      q.settle(round, new Map([["dlv_1", null], ["dlv_2", null]]));
      expect(q.ids()).toEqual(["dlv_3", "dlv_4"]);
      expect(q.round(true, NOW, 50)!.ids).toEqual(["dlv_3", "dlv_4"]);
    }));

  it("moves the rows of an object from before batches (one row per delivery) over once", () =>
    withQueue((q, _m, sql) => {
      sql.exec("CREATE TABLE queue (delivery_id TEXT PRIMARY KEY, next_at INTEGER NOT NULL DEFAULT 0, trigger TEXT NOT NULL DEFAULT 'scheduled') WITHOUT ROWID");
      sql.exec("INSERT INTO queue VALUES ('dlv_1', 0, 'scheduled'), ('dlv_2', ?, 'scheduled'), ('dlv_3', 0, 'manual')", NOW + 100);
      q.create();
      expect(q.ids()).toEqual(["dlv_1", "dlv_2", "dlv_3"]);
      expect(q.round(true, NOW, 50)!.ids).toEqual(["dlv_1"]);
      expect(sql.exec("SELECT name FROM sqlite_master WHERE name = 'queue'").toArray()).toEqual([]);
    }));
});
