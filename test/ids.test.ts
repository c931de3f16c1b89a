import { describe, expect, it } from "vitest";
import { deliveryId, idGenerator, idTime, parseDeliveryId } from "../src/lib/ids";

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

  it("derive delivery ids from (event, webhook): stable, distinct, in event order, reversible", () => {
    const next = idGenerator();
    const e1 = next("evt");
    const w1 = next("wh");
    const w2 = next("wh");
    const d = deliveryId(e1, w1);
    expect(d).toBe(deliveryId(e1, w1));
    expect(d).not.toBe(deliveryId(e1, w2));
    expect(d).toMatch(/^dlv_[0-9A-Z]{52}$/);
    expect(parseDeliveryId(d)).toEqual({ eventId: e1, webhookId: w1 });
    expect(parseDeliveryId("dlv_short")).toBeNull();
    expect(parseDeliveryId(d.replace("dlv_", "evt_"))).toBeNull();
    // A later event's delivery sorts after an earlier one's, whatever the webhook.
    const e2 = idGenerator(() => idTime(e1) + 5)("evt");
    expect(deliveryId(e2, w1) > deliveryId(e1, w2)).toBe(true);
  });
});
