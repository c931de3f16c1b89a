// verifyWebhook: valid, tampered, expired, future, rotated and malformed
// deliveries in both schemes, the Standard Webhooks test vectors, and a
// cross-check against the standardwebhooks reference library. Expected
// signatures are computed here with node:crypto, independently of the SDK.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import { RubricError, verifyWebhook, WebhookVerificationError } from "../../dist/index.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // base64 after whsec_: both schemes
const NOW = 1_732_800_000; // seconds
const at = (s) => ({ now: s * 1000 });
const BODY = JSON.stringify({ id: "evt_01", type: "evaluation.completed", created_at: "2024-03-15T10:30:00Z", data: { evaluation_id: "eval_xyz789" }, metadata: {} });

const rubricSig = (secret, ts, body) => `sha256=${createHmac("sha256", Buffer.from(secret, "utf8")).update(`${ts}.${body}`).digest("hex")}`;
const standardSig = (secret, id, ts, body) =>
  `v1,${createHmac("sha256", Buffer.from(secret.replace(/^whsec_/, ""), "base64")).update(`${id}.${ts}.${body}`).digest("base64")}`;

/** The headers Rubric sends, for one or more secrets (rotation: X-Rubric-Signature has the newest only). */
function deliveryHeaders({ secrets = [SECRET], ts = NOW, body = BODY, id = "evt_01", standard = true } = {}) {
  return {
    "x-rubric-timestamp": String(ts),
    "x-rubric-signature": rubricSig(secrets[0], ts, body),
    ...(standard ? { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": secrets.map((s) => standardSig(s, id, ts, body)).join(" ") } : {}),
  };
}

const only = (headers, prefix) => Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith(prefix)));

/** Asserts the call rejects with a WebhookVerificationError of this reason. */
async function refused(promise, reason) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof WebhookVerificationError, `${err} is a WebhookVerificationError`);
    assert.ok(err instanceof RubricError);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

describe("valid deliveries", () => {
  test("both schemes, each alone, returns the parsed envelope", async () => {
    const h = deliveryHeaders();
    const expected = JSON.parse(BODY);
    assert.deepEqual(await verifyWebhook(BODY, h, SECRET, at(NOW)), expected);
    assert.deepEqual(await verifyWebhook(BODY, only(h, "x-rubric"), SECRET, at(NOW)), expected);
    assert.deepEqual(await verifyWebhook(BODY, only(h, "webhook-"), SECRET, at(NOW)), expected);
  });

  test("the seed's own secret (not base64): X-Rubric-Signature keyed by the whole string", async () => {
    const secret = "whsec_your_signing_secret";
    const h = deliveryHeaders({ secrets: [secret], standard: false });
    assert.equal((await verifyWebhook(BODY, h, secret, at(NOW))).id, "evt_01");
  });

  test("raw bytes, ArrayBuffer, Headers objects, mixed-case names and Node's array values all work", async () => {
    const h = deliveryHeaders();
    const bytes = new TextEncoder().encode(BODY);
    await verifyWebhook(bytes, h, SECRET, at(NOW));
    await verifyWebhook(bytes.buffer, h, SECRET, at(NOW));
    await verifyWebhook(BODY, new Headers(h), SECRET, at(NOW));
    await verifyWebhook(BODY, { "X-Rubric-Signature": h["x-rubric-signature"], "X-Rubric-Timestamp": h["x-rubric-timestamp"] }, SECRET, at(NOW));
    await verifyWebhook(BODY, { ...only(h, "webhook-"), "webhook-signature": ["v1,AAAA", h["webhook-signature"]] }, SECRET, at(NOW));
  });

  test("non-ASCII bodies are signed over their UTF-8 bytes", async () => {
    const body = JSON.stringify({ id: "evt_02", type: "t", data: { name: "Évaluation – 日本語 ✓" } });
    const h = deliveryHeaders({ body, id: "evt_02" });
    assert.equal((await verifyWebhook(body, h, SECRET, at(NOW))).data.name, "Évaluation – 日本語 ✓");
    await verifyWebhook(Buffer.from(body, "utf8"), h, SECRET, at(NOW));
  });

  test("exactly 300 s either side is accepted (the seed rejects only > 300)", async () => {
    await verifyWebhook(BODY, deliveryHeaders(), SECRET, at(NOW + 300));
    await verifyWebhook(BODY, deliveryHeaders(), SECRET, at(NOW - 300));
  });
});

describe("rotation", () => {
  const OLD = SECRET;
  const NEW = "whsec_" + Buffer.alloc(24, 7).toString("base64");

  test("webhook-signature with both secrets' signatures verifies with either secret", async () => {
    const h = deliveryHeaders({ secrets: [NEW, OLD] });
    await verifyWebhook(BODY, h, NEW, at(NOW));
    await verifyWebhook(BODY, h, OLD, at(NOW)); // only via webhook-signature: X-Rubric-Signature has the new one
    await refused(verifyWebhook(BODY, only(h, "x-rubric"), OLD, at(NOW)), "signature_mismatch");
  });

  test("a receiver holding several secrets accepts a delivery signed with any of them", async () => {
    const h = only(deliveryHeaders({ secrets: [NEW] }), "x-rubric");
    await verifyWebhook(BODY, h, [OLD, NEW], at(NOW));
    await refused(verifyWebhook(BODY, h, [OLD], at(NOW)), "signature_mismatch");
  });
});

describe("refused deliveries", () => {
  test("tampered body, timestamp or id: signature_mismatch", async () => {
    const h = deliveryHeaders();
    await refused(verifyWebhook(BODY.replace("eval_xyz789", "eval_evil00"), h, SECRET, at(NOW)), "signature_mismatch");
    await refused(verifyWebhook(BODY + " ", h, SECRET, at(NOW)), "signature_mismatch");
    await refused(verifyWebhook(BODY, { ...h, "x-rubric-timestamp": String(NOW + 1), "webhook-timestamp": String(NOW + 1) }, SECRET, at(NOW)), "signature_mismatch");
    await refused(verifyWebhook(BODY, { ...only(h, "webhook-"), "webhook-id": "evt_other" }, SECRET, at(NOW)), "signature_mismatch");
  });

  test("wrong secret: signature_mismatch", async () => {
    await refused(verifyWebhook(BODY, deliveryHeaders(), "whsec_" + Buffer.alloc(24, 1).toString("base64"), at(NOW)), "signature_mismatch");
  });

  test("expired and future timestamps, even correctly signed, are refused by tolerance", async () => {
    await refused(verifyWebhook(BODY, deliveryHeaders(), SECRET, at(NOW + 301)), "timestamp_too_old");
    await refused(verifyWebhook(BODY, deliveryHeaders(), SECRET, at(NOW - 301)), "timestamp_too_new");
    await refused(verifyWebhook(BODY, only(deliveryHeaders(), "x-rubric"), SECRET, at(NOW + 3600)), "timestamp_too_old");
    // A wider tolerance admits it.
    await verifyWebhook(BODY, deliveryHeaders(), SECRET, { now: (NOW + 3600) * 1000, toleranceSeconds: 3600 });
  });

  test("missing headers: missing_headers (no scheme complete)", async () => {
    const h = deliveryHeaders();
    await refused(verifyWebhook(BODY, {}, SECRET, at(NOW)), "missing_headers");
    await refused(verifyWebhook(BODY, { "x-rubric-signature": h["x-rubric-signature"] }, SECRET, at(NOW)), "missing_headers");
    await refused(verifyWebhook(BODY, { "x-rubric-timestamp": String(NOW) }, SECRET, at(NOW)), "missing_headers");
    const { "webhook-id": _, ...noId } = only(h, "webhook-");
    await refused(verifyWebhook(BODY, noId, SECRET, at(NOW)), "missing_headers");
  });

  test("malformed timestamps and signatures (the same reasons as the Python SDK's verify_signature)", async () => {
    const h = only(deliveryHeaders(), "x-rubric");
    for (const ts of ["hello", "1.5", "-1", "0x10", "1234567890123"]) {
      await refused(verifyWebhook(BODY, { ...h, "x-rubric-timestamp": ts }, SECRET, at(NOW)), "invalid_timestamp");
    }
    // X-Rubric-Signature: every entry must be sha256= and 64 hex digits.
    const truncated = h["x-rubric-signature"].slice(0, 21);
    for (const sig of ["abc", "sha256=", "sha256=" + "z".repeat(64), "sha1=" + "a".repeat(40), h["x-rubric-signature"].slice(7), truncated, `${h["x-rubric-signature"]},junk`]) {
      await refused(verifyWebhook(BODY, { ...h, "x-rubric-signature": sig }, SECRET, at(NOW)), "malformed_signature");
    }
    // webhook-signature: every entry must be `version,signature`; only v1 entries can match.
    const s = only(deliveryHeaders(), "webhook-");
    await refused(verifyWebhook(BODY, { ...s, "webhook-signature": "dawfeoifkpqwoekfpqoekf" }, SECRET, at(NOW)), "malformed_signature");
    await refused(verifyWebhook(BODY, { ...s, "webhook-signature": `${s["webhook-signature"]} junk` }, SECRET, at(NOW)), "malformed_signature");
    for (const sig of ["v1,", "v2," + s["webhook-signature"].slice(3), "v1,dawfeoifkpqwoekfpqoekf", "v1,!!!"]) {
      await refused(verifyWebhook(BODY, { ...s, "webhook-signature": sig }, SECRET, at(NOW)), "signature_mismatch");
    }
  });

  test("timestamps are checked before signatures, in every scheme present", async () => {
    const h = deliveryHeaders();
    // A valid X-Rubric pair does not excuse a stale webhook-timestamp next to it.
    await refused(verifyWebhook(BODY, { ...h, "webhook-timestamp": String(NOW - 1000) }, SECRET, at(NOW)), "timestamp_too_old");
    await refused(verifyWebhook(BODY, { ...h, "x-rubric-signature": "bogus", "x-rubric-timestamp": String(NOW - 1000) }, SECRET, at(NOW)), "timestamp_too_old");
  });

  test("one scheme malformed, the other valid: accepted; both failing: malformed wins over mismatch", async () => {
    const h = deliveryHeaders();
    await verifyWebhook(BODY, { ...h, "x-rubric-signature": "bogus" }, SECRET, at(NOW));
    await refused(verifyWebhook(BODY + "x", { ...h, "x-rubric-signature": "bogus" }, SECRET, at(NOW)), "malformed_signature");
  });

  test("an empty or missing secret is invalid_secret", async () => {
    await refused(verifyWebhook(BODY, deliveryHeaders(), "", at(NOW)), "invalid_secret");
    await refused(verifyWebhook(BODY, deliveryHeaders(), [], at(NOW)), "invalid_secret");
    await refused(verifyWebhook(BODY, deliveryHeaders(), undefined, at(NOW)), "invalid_secret");
  });

  test("a genuine body that is not JSON is invalid_payload", async () => {
    await refused(verifyWebhook("not json", deliveryHeaders({ body: "not json" }), SECRET, at(NOW)), "invalid_payload");
  });
});

describe("Standard Webhooks", () => {
  // The specification's published vector (standard-webhooks libraries' "sign function works").
  const VECTOR = { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: 1614265330, body: '{"test": 2432232314}', sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" };
  const vectorHeaders = { "webhook-id": VECTOR.id, "webhook-timestamp": String(VECTOR.ts), "webhook-signature": VECTOR.sig };

  test("the published test vector verifies, with and without the whsec_ prefix", async () => {
    assert.deepEqual(await verifyWebhook(VECTOR.body, vectorHeaders, VECTOR.secret, at(VECTOR.ts)), { test: 2432232314 });
    await verifyWebhook(VECTOR.body, vectorHeaders, VECTOR.secret.slice(6), at(VECTOR.ts));
  });

  test("the vector's multi-signature header (foreign versions and wrong v1 around the right one) verifies", async () => {
    const junk = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    const sig = [junk, "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", VECTOR.sig, junk].join(" ");
    await verifyWebhook(VECTOR.body, { ...vectorHeaders, "webhook-signature": sig }, VECTOR.secret, at(VECTOR.ts));
  });

  test("the vector is refused when stale, tampered or partial", async () => {
    await refused(verifyWebhook(VECTOR.body, vectorHeaders, VECTOR.secret, at(VECTOR.ts + 301)), "timestamp_too_old");
    await refused(verifyWebhook('{"test": 2432232315}', vectorHeaders, VECTOR.secret, at(VECTOR.ts)), "signature_mismatch");
    await refused(verifyWebhook(VECTOR.body, { ...vectorHeaders, "webhook-signature": VECTOR.sig.slice(0, 8) }, VECTOR.secret, at(VECTOR.ts)), "signature_mismatch");
    await refused(verifyWebhook(VECTOR.body, { ...vectorHeaders, "webhook-signature": "v1," }, VECTOR.secret, at(VECTOR.ts)), "signature_mismatch");
  });

  test("agrees with the standardwebhooks reference library both ways", async () => {
    const ref = new ReferenceWebhook(VECTOR.secret);
    const now = Math.floor(Date.now() / 1000);
    const id = "evt_cross";
    // The reference signs; we verify.
    const theirSig = ref.sign(id, new Date(now * 1000), BODY);
    assert.equal(theirSig, standardSig(VECTOR.secret, id, now, BODY));
    await verifyWebhook(BODY, { "webhook-id": id, "webhook-timestamp": String(now), "webhook-signature": theirSig }, VECTOR.secret);
    // Headers as Rubric sends them verify with the reference too.
    const ours = deliveryHeaders({ secrets: [VECTOR.secret], ts: now, id });
    assert.deepEqual(ref.verify(BODY, only(ours, "webhook-")), JSON.parse(BODY));
  });
});

describe("Node 18 (no crypto global)", () => {
  test("verifyWebhook falls back to node:crypto's webcrypto", async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true, writable: true });
    try {
      assert.equal(globalThis.crypto, undefined);
      const h = deliveryHeaders();
      assert.equal((await verifyWebhook(BODY, h, SECRET, at(NOW))).id, "evt_01");
      await refused(verifyWebhook(BODY + " ", h, SECRET, at(NOW)), "signature_mismatch");
    } finally {
      Object.defineProperty(globalThis, "crypto", saved);
    }
  });
});
