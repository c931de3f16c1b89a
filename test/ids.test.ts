import { describe, expect, it } from "vitest";
import { deliveryId, idGenerator, idTime } from "../src/lib/ids";

describe("ids", () => {
  it("are prefixed, K-sortable and strictly increasing within one generator", () => {
    let t = 1_700_000_000_000;
    const next = idGenerator(() => t);
    const ids = Array.from({ length: 1000 }, () => next("evt"));
    expect(ids[0]).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    t += 1;
    const later = next("evt");
    expect(later > ids[999]!).toBe(true);
    expect(idTime(later)).toBe(t);
  });

  it("derive delivery ids from (event, webhook): stable, distinct, in event order", async () => {
    const next = idGenerator();
    const e1 = next("evt");
    const e2 = next("evt");
    expect(await deliveryId(e1, "wh_a")).toBe(await deliveryId(e1, "wh_a"));
    expect(await deliveryId(e1, "wh_a")).not.toBe(await deliveryId(e1, "wh_b"));
    expect(await deliveryId(e1, "wh_a")).toMatch(/^dlv_[0-9A-Z]{26}$/);
    expect(idTime(await deliveryId(e1, "wh_a"))).toBe(idTime(e1));
    // A later event's delivery sorts after an earlier one's (different millisecond).
    const t = idTime(e2) + 5;
    const e3 = idGenerator(() => t)("evt");
    expect((await deliveryId(e3, "wh_a")) > (await deliveryId(e1, "wh_z"))).toBe(true);
  });
});
