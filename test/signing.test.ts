import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deliveryHeaders } from "../src/dispatch/attempt";
import { isoSeconds, renderEnvelope } from "../src/delivery/envelope";
import { generateSecret, rubricSignature, standardSignature } from "../src/delivery/sign";

describe("Standard Webhooks signatures", () => {
  it("matches the spec's test vectors", async () => {
    expect(
      await standardSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    expect(
      await standardSignature(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        '{"email":"test@example.com","username":"test_user"}',
      ),
    ).toBe("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
  });

  it("refuses secrets that are not base64", async () => {
    expect(await standardSignature("whsec_your_signing_secret", "m", 1, "{}")).toBeNull();
  });
});

describe("X-Rubric-Signature", () => {
  it("is what the seed's verify_webhook.py recomputes", async () => {
    const secret = "whsec_your_signing_secret";
    const body = '{"id":"evt_abc123","type":"evaluation.completed"}';
    const ts = 1710498600;
    // hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(Buffer.from(`${ts}.${body}`, "utf8")).digest("hex");
    expect(await rubricSignature(secret, ts, body)).toBe(`sha256=${expected}`);
  });

  it("signs non-ASCII bodies over their UTF-8 bytes", async () => {
    const body = '{"name":"Évaluation ✓"}';
    const expected = createHmac("sha256", "k".repeat(20)).update(`7.${body}`, "utf8").digest("hex");
    expect(await rubricSignature("k".repeat(20), 7, body)).toBe(`sha256=${expected}`);
  });
});

describe("delivery headers", () => {
  it("carry every header of the wire contract, signed over the same bytes", async () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = '{"a":1}';
    const h = await deliveryHeaders(
      { url: "x", secrets: [secret], body, eventId: "evt_1", eventType: "sample.scored", deliveryId: "dlv_1", attempt: 2, timeoutMs: 1000 },
      1700000000,
    );
    expect(h).toEqual({
      "Content-Type": "application/json",
      "User-Agent": "Rubric-Webhooks/0.1.0",
      "X-Rubric-Timestamp": "1700000000",
      "X-Rubric-Signature": await rubricSignature(secret, 1700000000, body),
      "X-Rubric-Event-Id": "evt_1",
      "X-Rubric-Event-Type": "sample.scored",
      "X-Rubric-Delivery-Id": "dlv_1",
      "X-Rubric-Attempt": "2",
      "webhook-id": "evt_1",
      "webhook-timestamp": "1700000000",
      "webhook-signature": await standardSignature(secret, "evt_1", 1700000000, body),
    });
  });

  it("sign with every secret during a rotation, the newest alone in X-Rubric-Signature, and keep ours over custom headers", async () => {
    const [fresh, old, notBase64] = [generateSecret(), generateSecret(), "whsec_not_base64_at_all!"];
    const body = "{}";
    const h = await deliveryHeaders(
      { url: "x", secrets: [fresh, old, notBase64], body, eventId: "evt_1", eventType: "t.t", deliveryId: "d", attempt: 1, timeoutMs: 1, extraHeaders: { "X-Team": "ml", "X-Rubric-Signature": "forged" } },
      1700000000,
    );
    expect(h["X-Rubric-Signature"]).toBe(await rubricSignature(fresh, 1700000000, body));
    expect(h["webhook-signature"]).toBe(
      `${await standardSignature(fresh, "evt_1", 1700000000, body)} ${await standardSignature(old, "evt_1", 1700000000, body)}`,
    );
    expect(h["X-Team"]).toBe("ml");
  });
});

describe("envelope", () => {
  it("is the seed's shape with second-precision UTC time", () => {
    const text = renderEnvelope({ id: "evt_abc123", type: "evaluation.completed", createdAt: Date.UTC(2024, 2, 15, 10, 30, 0, 999), data: '{"x":1}', metadata: "{}" });
    expect(text).toBe('{"id":"evt_abc123","type":"evaluation.completed","created_at":"2024-03-15T10:30:00Z","data":{"x":1},"metadata":{}}');
    expect(isoSeconds(0)).toBe("1970-01-01T00:00:00Z");
  });
});
