// The TypeScript SDK against the Worker, inside the Workers runtime.
// 1. Its types are generated from a committed snapshot of /openapi.json
//    (sdk/typescript/openapi.json → src/types.gen.ts): if a route or schema
//    changes without regenerating, this fails, so the SDK cannot drift.
//    Regenerate with: node sdk/typescript/scripts/update-openapi.mjs
// 2. The SDK itself (fetch + WebCrypto only) runs in workerd: its client calls
//    the app, and verifyWebhook checks a delivery the dispatcher really sent.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import snapshot from "../sdk/typescript/openapi.json";
import { NotFoundError, Rubric, ValidationError, verifyWebhook } from "../sdk/typescript/src/index";
import { call, newAccount, received, receiverEndpoint, waitFor } from "./support/helpers";

describe("sdk/typescript/openapi.json", () => {
  it("equals the live GET /openapi.json (regenerate with node sdk/typescript/scripts/update-openapi.mjs)", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json).toEqual(snapshot);
  });
});

describe("the SDK in the Workers runtime", () => {
  /** A client whose fetch is the Worker's own handler (no network in between). */
  const clientFor = (apiKey: string) =>
    new Rubric({ apiKey, baseUrl: "http://rubric.test", fetch: (input, init) => exports.default.fetch(new Request(input, init)) });

  it("creates, tests and reads back a webhook, and verifies the test delivery with verifyWebhook", async () => {
    const { key } = await newAccount("sdk-in-workerd");
    const client = clientFor(key);
    const endpoint = receiverEndpoint("sdk");
    const hook = await client.webhooks.create({ name: "sdk", url: endpoint.url, events: ["evaluation.completed"] });
    const result = await client.webhooks.test(hook.id, { event_type: "evaluation.completed", payload: { evaluation_id: "eval_test" } });
    expect(result.status).toBe("success");

    const [got] = await waitFor(async () => {
      const list = await received(endpoint.name);
      return list.length > 0 && list;
    });
    const event = await verifyWebhook(got!.body, got!.headers, hook.secret);
    expect(event.id).toBe(result.event_id);
    expect(event.data).toEqual({ evaluation_id: "eval_test" });

    const deliveries = [];
    for await (const d of client.webhooks.deliveries(hook.id)) deliveries.push(d);
    expect(deliveries.map((d) => d.id)).toContain(result.delivery_id);
    await expect(client.webhooks.get("wh_01HV6Z8K2M3N4P5Q6R7S8T9V0W")).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.webhooks.create({ name: "bad", url: endpoint.url, events: [] })).rejects.toBeInstanceOf(ValidationError);
  });
});
