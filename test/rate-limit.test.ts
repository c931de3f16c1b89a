import { describe, expect, it } from "vitest";
import { call, newAccount } from "./support/helpers";

describe("per-key rate limit", () => {
  it("answers 429 with Retry-After past the key's limit, and other keys are unaffected", async () => {
    const limited = await newAccount("busy");
    const other = await newAccount("quiet");
    let first429: Awaited<ReturnType<typeof call>> | null = null;
    // The test configuration allows 200 requests per 10 s per key (a bucket refilled at 20/s):
    // send rounds of 50 until one is refused. A slow machine refills more between rounds, so
    // the number of rounds is not fixed; 20 rounds would need over 40 s to stay under the limit.
    for (let round = 0; round < 20 && !first429; round++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => call("GET", "/v1/event_types", { key: limited.key })));
      for (const res of answers) expect([200, 429]).toContain(res.status);
      first429 = answers.find((r) => r.status === 429) ?? null;
    }
    expect(first429).not.toBeNull();
    expect(first429!.json.error.code).toBe("rate_limited");
    expect(Number(first429!.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await call("GET", "/v1/event_types", { key: other.key })).status).toBe(200);
  });
});
