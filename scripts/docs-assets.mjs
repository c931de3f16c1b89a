// Copies Scalar's standalone API reference bundle (the pinned `@scalar/api-reference`
// devDependency) into public/docs/scalar.js, the Workers Static Assets directory that
// `GET /docs/scalar.js` is served from, so /docs needs no CDN and no network.
//
// Why copied and not committed: the bundle is ~3.5 MB of minified third-party code that
// belongs to the package version in package-lock.json; a copy cannot drift from it.
// Who runs it: wrangler's `[build] command` (so `wrangler dev`/`npm start`, `wrangler deploy`
// and `npm run build:check` all get it) and vitest.config.ts (for the workers pool).
// It rewrites the file only when its bytes differ, so it never triggers a needless reload, and
// atomically (write, then rename), since two runtimes starting at once may both run it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Where the bundle goes, in the Workers Static Assets directory (wrangler.toml `[assets]`): served as `/docs/scalar.js`. */
export const SCALAR_TARGET = path.join(ROOT, "public", "docs", "scalar.js");

/** Copies the bundle if it is missing or different; returns its path. */
export function copyDocsAssets() {
  const source = createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js");
  const bytes = readFileSync(source);
  if (!existsSync(SCALAR_TARGET) || !readFileSync(SCALAR_TARGET).equals(bytes)) {
    mkdirSync(path.dirname(SCALAR_TARGET), { recursive: true });
    const partial = `${SCALAR_TARGET}.${process.pid}.tmp`;
    writeFileSync(partial, bytes);
    renameSync(partial, SCALAR_TARGET);
  }
  return SCALAR_TARGET;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) copyDocsAssets();
