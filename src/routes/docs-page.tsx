/** @jsxImportSource hono/jsx */
/**
 * `GET /docs`: the page around the API reference. The server renders the
 * frame (title, overview, key fields) from the OpenAPI document; the inline
 * script (docs-client.ts) fetches `openapi.json` and renders the operations,
 * so the page stays small however many routes the API has. No external URL
 * of any kind: no fonts, images, scripts or stylesheets.
 */
import { raw } from "hono/html";
import { DOCS_SCRIPT } from "./docs-client";
import type { OpenAPIDoc } from "./docs-document";

/** Text with `code` spans and blank-line paragraphs (the only markdown the descriptions use). */
function Md({ text }: { text: string }) {
  return (
    <>
      {text.split(/\n{2,}/).map((para) => (
        <p>{para.split(/`([^`]+)`/).map((part, i) => (i % 2 ? <code>{part}</code> : part))}</p>
      ))}
    </>
  );
}

function Page({ doc, nonce }: { doc: OpenAPIDoc; nonce: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${doc.info.title} ${doc.info.version} — reference`}</title>
        <style nonce={nonce}>{raw(CSS)}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to the reference
        </a>
        <header>
          <h1>{doc.info.title}</h1>
          <p class="ver">
            Version {doc.info.version} · OpenAPI {doc.openapi} · <a href="openapi.json">openapi.json</a>
          </p>
        </header>
        <div class="layout">
          <nav aria-labelledby="toc-h">
            <h2 id="toc-h">Contents</h2>
            <ul id="toc-list">
              <li>
                <a href="#keys">API key</a>
              </li>
            </ul>
          </nav>
          <main id="main" tabindex={-1}>
            <section aria-labelledby="intro-h">
              <h2 id="intro-h">Overview</h2>
              {doc.info.description ? <Md text={doc.info.description} /> : ""}
            </section>
            <section id="keys" class="keys" aria-labelledby="keys-h">
              <h2 id="keys-h">API key</h2>
              <p>
                Used by the “Try it” forms below. Keys stay in this page’s memory and are sent only to this Worker; tick the box to keep them in this
                tab’s session storage until the tab closes.
              </p>
              <div class="field">
                <label for="key-api">API key (rk_live_… or rk_test_…)</label>
                <input id="key-api" type="password" autocomplete="off" spellcheck={false} />
              </div>
              <div class="field">
                <label for="key-operator">Operator token (for /v1/accounts, /metrics, /v1/admin/*)</label>
                <input id="key-operator" type="password" autocomplete="off" spellcheck={false} />
              </div>
              <div class="check">
                <input id="key-remember" type="checkbox" />
                <label for="key-remember">Keep for this tab (sessionStorage)</label>
              </div>
              <button type="button" id="key-forget">
                Forget keys
              </button>
            </section>
            <p id="docs-status" class="status" role="status" aria-live="polite">
              Loading the API description…
            </p>
            <noscript>
              <p class="warn">
                This reference is drawn by a small script, which is off. The same description is at <a href="openapi.json">openapi.json</a>.
              </p>
            </noscript>
            <div id="content"></div>
          </main>
        </div>
        <script nonce={nonce}>{raw(DOCS_SCRIPT)}</script>
      </body>
    </html>
  );
}

/** The whole page as a string, with `nonce` on its one style and one script element. */
export async function renderDocsPage(doc: OpenAPIDoc, nonce: string): Promise<string> {
  return `<!doctype html>${await (<Page doc={doc} nonce={nonce} />).toString()}`;
}

// Colours: text and badges keep a contrast ratio of at least 4.5:1 (most above 7:1) on their backgrounds.
const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
a{color:#0b4fa8}
a:hover{color:#072f66}
:focus-visible{outline:3px solid #1d5fd1;outline-offset:2px}
code,pre,textarea,input{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{font-size:.9em;overflow-wrap:anywhere}
pre{background:#f4f5f7;border:1px solid #c9ced6;border-radius:6px;padding:.75rem;overflow:auto;max-height:28rem;font-size:.85rem;margin:.25rem 0 1rem}
pre code{font-size:inherit;overflow-wrap:normal}
.skip{position:absolute;left:.5rem;top:-3rem;background:#fff;padding:.5rem 1rem;border:2px solid #1d5fd1;z-index:10}
.skip:focus{top:.5rem}
header{background:#14213d;color:#fff;padding:1rem 1.25rem}
header h1{margin:0;font-size:1.5rem}
header a{color:#fff}
.ver{margin:.25rem 0 0;color:#e6e9ef}
.layout{display:flex;flex-wrap:wrap;align-items:flex-start}
nav{flex:0 0 17rem;max-width:100%;padding:1rem 1.25rem;border-right:1px solid #d5d9e0}
nav h2{font-size:1rem;margin:0 0 .5rem}
nav ul{list-style:none;margin:0;padding:0}
nav ul ul{margin:.25rem 0 .75rem .5rem}
nav li{margin:.15rem 0}
nav a{text-decoration:none;overflow-wrap:anywhere}
nav a:hover{text-decoration:underline}
main{flex:1 1 30rem;min-width:0;padding:1rem 1.25rem 3rem;max-width:60rem}
main>section>h2{border-bottom:2px solid #14213d;padding-bottom:.25rem;margin-top:2rem;text-transform:capitalize}
.op,.schema{border:1px solid #c9ced6;border-radius:8px;padding:.75rem 1rem;margin:1rem 0;background:#fff}
.op h3{margin:0;font-size:1.1rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.op h4{margin:1rem 0 .25rem;font-size:1rem}
.path{font-size:1rem;overflow-wrap:anywhere}
.summary{font-weight:600}
.m{display:inline-block;min-width:3.6rem;text-align:center;font:700 .75rem/1.6 system-ui,sans-serif;color:#fff;border-radius:4px;padding:0 .35rem;background:#3d4451}
.m-get{background:#0b5394}.m-post{background:#1c6b30}.m-put,.m-patch{background:#8a4300}.m-delete{background:#a3161a}
.fields{margin:.25rem 0;padding-left:1.1rem}
.fields li{margin:.2rem 0}
.type{color:#5b2a86}
.req{color:#a3161a;font-size:.85em;font-weight:600}
.opt,.in,.rules,.note,.auth-req,.ex-label,.mt{color:#4a5160;font-size:.9em}
.ex-label,.mt{margin:.5rem 0 0}
.responses{list-style:none;padding:0;margin:0}
.responses>li{margin:.25rem 0}
summary{cursor:pointer;padding:.2rem 0}
.s{font-weight:700;font-family:ui-monospace,monospace}
.s-ok{color:#1c6b30}.s-err{color:#a3161a}
.try{margin-top:1rem;border-top:1px dashed #c9ced6;padding-top:.5rem}
.try>summary{font-weight:600;color:#0b4fa8}
.field{margin:.6rem 0}
.field label{display:block;font-weight:600;margin-bottom:.2rem}
input[type=text],input[type=password],textarea{width:100%;max-width:40rem;font-size:.9rem;padding:.45rem .5rem;border:1px solid #6b7280;border-radius:4px;color:#1b1b1b;background:#fff}
textarea{min-height:8rem;resize:vertical}
.check{display:flex;gap:.5rem;align-items:center;margin:.6rem 0}
.check input{width:1.1rem;height:1.1rem}
button{font:600 .95rem system-ui,sans-serif;background:#0b4fa8;color:#fff;border:0;border-radius:5px;padding:.55rem 1rem;cursor:pointer;max-width:100%;overflow-wrap:anywhere}
button:hover{background:#072f66}
.keys{background:#f4f5f7;border:1px solid #c9ced6;border-radius:8px;padding:.5rem 1rem 1rem;margin-top:1rem}
.keys h2{margin-top:.5rem}
.warn{color:#8a4300;font-weight:600}
.status{font-weight:600;margin:.5rem 0}
.status.bad{color:#a3161a}.status.good{color:#1c6b30}
@media (max-width:700px){nav{flex-basis:100%;border-right:0;border-bottom:1px solid #d5d9e0}main{padding:1rem .75rem 3rem}.op,.schema{padding:.6rem .6rem}header{padding:1rem .75rem}}
`;
