import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "./scripts/docs-assets.mjs";

const migrations = await readD1Migrations("./migrations");
// The pool does not run wrangler's [build] command: put Scalar's bundle into the assets directory here.
copyDocsAssets();

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // A lower per-key limit than production's, so a test can reach it (the period is 10 s).
        ratelimits: { API_RATE_LIMITER: { simple: { limit: 200, period: 10 } } },
        bindings: {
          TEST_MIGRATIONS: migrations,
          RECEIVER_URL: `http://127.0.0.1:${inject("receiverPort")}`,
          // The SSRF guard resolves names with the test DoH server, never a real resolver.
          DNS_RESOLVER_URL: `http://127.0.0.1:${inject("dohPort")}/dns-query`,
          ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
          ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
          ALLOW_PRIVATE_TARGETS: "true",
          ALLOW_INSECURE_URLS: "true",
          SWEEP_AFTER_SECONDS: "0",
          SWEEP_INTERVAL_SECONDS: "3600",
          USAGE_FLUSH_SECONDS: "0",
          API_RATE_LIMIT: "200",
          // `SHARDS=4 npm test` runs the suite over four shard databases (wrangler.toml binds four).
          SHARDS: process.env.SHARDS ?? "1",
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    testTimeout: 30_000,
    // Two test files at a time (vitest's default leaves one of two cores idle): the suite takes
    // about 160 s instead of 350 s here. Timing-sensitive tests must hold under that load.
    maxWorkers: 2,
  },
});
