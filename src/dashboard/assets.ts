/**
 * The dashboard's only assets: one stylesheet and one small script, served by
 * the Worker with long cache lifetimes (the URL carries a hash of the content,
 * so a new version is a new URL). The script only enhances: every page works
 * without it.
 */
import { Hono } from "hono";
import type { DashEnv } from "./types";

/** Colours meet WCAG AA contrast (4.5:1 or more) on their backgrounds. */
export const CSS = `
*{box-sizing:border-box}
html{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
body{margin:0}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #e37400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:9}
header{background:#14213d;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
header a{color:#fff}
header .brand{font-weight:700;margin-right:auto;color:#fff;text-decoration:none}
header nav{display:flex;gap:14px;flex-wrap:wrap;align-items:center}
header form{margin:0}
header button{background:none;border:1px solid #fff;color:#fff;padding:4px 10px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;font-weight:600;background:#e8eaed;color:#1b1f24}
.ok{background:#d7f5de;color:#0d5322}.bad{background:#fde0dc;color:#8a1c0f}.warn{background:#fff1c2;color:#5c4300}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0 .6em}h2{font-size:1.15rem;margin:1.4em 0 .5em}
.card{background:#fff;border:1px solid #d5d9de;border-radius:6px;padding:14px;margin:0 0 14px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-size:.85rem;color:#44505c}
td code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f1f3f5;padding:8px;overflow:auto;max-height:320px;white-space:pre-wrap;word-break:break-all;margin:.3em 0}
label{display:block;font-weight:600;margin:.6em 0 .2em}
input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #6b7580;border-radius:4px;width:100%;max-width:520px;background:#fff;color:#1b1f24}
textarea{min-height:90px}
button,.button{font:inherit;display:inline-block;padding:6px 14px;border-radius:4px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer;text-decoration:none;margin:.4em .4em .4em 0}
button.secondary{background:#fff;color:#0b57d0}.danger{background:#b3261e;border-color:#b3261e;color:#fff}
fieldset{border:0;padding:0;margin:0}
.inline{display:inline}
.field-error{color:#8a1c0f;font-size:.9rem;margin:.2em 0}
[aria-invalid=true]{border-color:#b3261e;border-width:2px}
.notice{border-left:4px solid #1e8e3e;background:#e9f7ee;padding:8px 12px;margin:0 0 14px}
.alert{border-left:4px solid #b3261e;background:#fdecea;padding:8px 12px;margin:0 0 14px}
.filters{display:flex;flex-wrap:wrap;gap:0 12px;align-items:flex-end}
.filters div{min-width:150px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{font-weight:600}dd{margin:0;word-break:break-all}
svg{max-width:100%;height:auto}
.legend span{margin-right:12px;font-size:.85rem}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}.s-ok{background:#1e8e3e}.s-fail{background:#c5221f}.s-retry{background:#e37400}
@media (max-width:600px){main{padding:10px}th,td{padding:5px}dl{grid-template-columns:1fr}.hide-narrow{display:none}}
`.trim();

/**
 * Enhancements only: copy buttons for secrets, filters that apply when a
 * select changes, and a confirmation before destructive buttons.
 */
export const SCRIPT = `
document.addEventListener("click",function(e){var b=e.target.closest&&e.target.closest("[data-copy]");if(!b)return;var t=document.getElementById(b.getAttribute("data-copy"));if(t&&navigator.clipboard){navigator.clipboard.writeText(t.textContent);b.textContent="Copied";}});
document.addEventListener("change",function(e){var f=e.target.closest&&e.target.closest("form[data-autosubmit]");if(f&&e.target.tagName==="SELECT")f.submit();});
document.addEventListener("submit",function(e){var m=e.target.getAttribute("data-confirm");if(m&&!window.confirm(m))e.preventDefault();});
`.trim();

/** FNV-1a of `text`, hex: enough to tell versions apart. Synchronous on purpose: a promise shared across requests can hang a Worker. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** Versioned asset URLs: the content's hash in the query string. */
export const ASSET_VERSIONS = { css: shortHash(CSS), js: shortHash(SCRIPT) };

/** `GET /assets/app.css` and `/assets/app.js`. */
export const assetsRouter = new Hono<DashEnv>();
const serve = (body: string, type: string) => () =>
  new Response(body, {
    headers: { "Content-Type": type, "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff" },
  });
assetsRouter.get("/app.css", serve(CSS, "text/css; charset=utf-8"));
assetsRouter.get("/app.js", serve(SCRIPT, "text/javascript; charset=utf-8"));
