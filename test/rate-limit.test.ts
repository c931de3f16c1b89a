import { describe, expect, it } from "vitest";
import { callWith, newAccount } from "./support/helpers";

describe("per-key rate limit", () => {
  it("answers 429 with Retry-After past the key's limit, and other keys are unaffected", async () => {
    const limited = await newAccount("busy");
    const other = await newAccount("quiet");
    // A limit of 20 per 10 s (a bucket refilled at 2/s) and 60 requests at once: at most 20 + 2 per
    // second they take can pass, however slow the machine, so some are refused (an earlier version
    // sent rounds at the suite's limit of 200, and a slow machine refilled the bucket between rounds).
    const small = { API_RATE_LIMIT: "20" };
    const answers = await Promise.all(Array.from({ length: 60 }, () => callWith(small, "GET", "/v1/event_types", { key: limited.key })));
    for (const res of answers) expect([200, 429]).toContain(res.status);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20);
    expect(refused[0]!.json.error.code).toBe("rate_limited");
    expect(Number(refused[0]!.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await callWith(small, "GET", "/v1/event_types", { key: other.key })).status).toBe(200);
  });

  it("counts a request once, however many routers share its path prefix", async () => {
    const { key } = await newAccount("one-token");
    // Four routers are mounted at /v1/webhooks, each with the key check: a request under it must
    // take one token, not one per router. 15 requests against a limit of 20 all pass.
    const small = { API_RATE_LIMIT: "20" };
    const answers = [];
    for (let i = 0; i < 15; i++) answers.push((await callWith(small, "GET", "/v1/webhooks", { key })).status);
    expect(answers).toEqual(Array(15).fill(200));
  });
});
