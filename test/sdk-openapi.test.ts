// The TypeScript SDK's types are generated from a committed snapshot of this
// document (sdk/typescript/openapi.json → src/types.gen.ts). If a route or
// schema changes without regenerating, this fails, so the SDK cannot drift.
// To regenerate: node sdk/typescript/scripts/update-openapi.mjs
import { describe, expect, it } from "vitest";
import snapshot from "../sdk/typescript/openapi.json";
import { call } from "./support/helpers";

describe("sdk/typescript/openapi.json", () => {
  it("equals the live GET /openapi.json (regenerate with node sdk/typescript/scripts/update-openapi.mjs)", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json).toEqual(snapshot);
  });
});
