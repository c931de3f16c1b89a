#!/usr/bin/env node
// Refreshes the snapshot of the server's OpenAPI document (openapi.json) and
// regenerates src/types.gen.ts from it. Starts the service as `npm start` does,
// on a free port with temporary state, and stops it again.
//
//   node sdk/typescript/scripts/update-openapi.mjs              (from the repository root)
//   node sdk/typescript/scripts/update-openapi.mjs --from URL   (a service already running)
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, removeDir, startService } from "../../../test/e2e/support/service.mjs";
import { generate } from "./generate-types.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const from = process.argv.includes("--from") ? process.argv[process.argv.indexOf("--from") + 1] : undefined;

// Its own inspector port: wrangler's default (9229) collides with any other wrangler dev running.
const service = from ? null : await startService({ args: ["--inspector-port", String(await freePort())] });
try {
  const res = await fetch(`${from ?? service.baseUrl}/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const doc = await res.json();
  writeFileSync(path.join(HERE, "..", "openapi.json"), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(path.join(HERE, "..", "src", "types.gen.ts"), generate(doc));
  console.log("updated sdk/typescript/openapi.json and src/types.gen.ts");
} finally {
  await service?.stop();
  removeDir(service?.stateDir);
}
