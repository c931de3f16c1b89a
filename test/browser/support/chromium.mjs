// Debian's Chromium driven by playwright-core, for the dashboard's browser tests:
// a fresh profile per run, nothing that phones home, and checks every page must pass.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "../../e2e/support/service.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = path.join(ROOT, "docs", "screenshots");
export const NARROW = { width: 375, height: 740 };
export const DESKTOP = { width: 1280, height: 860 };

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Launches Chromium headless on a fresh profile; `close()` stops it and removes the profile. */
export async function launch() {
  const profile = mkdtempSync(path.join(os.tmpdir(), "rubric-chromium-"));
  // A persistent context is how playwright takes a --user-data-dir of our choosing.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: DESKTOP });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  // Rotation and deletion ask for confirmation (the page's script): accept.
  page.on("dialog", (d) => d.accept());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots of the current page at 375 px and desktop width, into docs/screenshots/<name>-{375,desktop}.png. */
export async function screenshots(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate(() => document.activeElement?.blur());
  for (const [label, size] of [["375", NARROW], ["desktop", DESKTOP]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
}

/**
 * What every dashboard page must be: each visible control labelled, the skip
 * link first in the focus order, no horizontal scrolling at 375 px, and under
 * 100 KB with its assets.
 */
export async function checkPage(page) {
  const report = await page.evaluate(() => {
    const controls = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")];
    const unlabelled = controls.filter((el) => !el.labels || el.labels.length === 0).map((el) => el.outerHTML.slice(0, 80));
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bytes = (nav?.decodedBodySize ?? 0) + resources.reduce((s, r) => s + (r.decodedBodySize || 0), 0);
    const external = resources.filter((r) => new URL(r.name).origin !== location.origin).map((r) => r.name);
    return { unlabelled, bytes, external, lang: document.documentElement.lang, h1: document.querySelectorAll("h1").length };
  });
  assert.deepEqual(report.unlabelled, [], "every control has a label");
  assert.deepEqual(report.external, [], "no outside resources");
  assert.equal(report.lang, "en");
  assert.equal(report.h1, 1, "one h1");
  assert.ok(report.bytes < 100 * 1024, `page and assets ${report.bytes} bytes`);
  // Focus order starts with the skip link.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Skip to content");
  const size = page.viewportSize();
  await page.setViewportSize(NARROW);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px on ${page.url()})`);
  await page.setViewportSize(size ?? DESKTOP);
}
