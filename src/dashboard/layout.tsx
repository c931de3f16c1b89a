/** @jsxImportSource hono/jsx */
/**
 * The page frame and the form pieces every page uses. Every control has a
 * label; field errors are tied to their control (aria-describedby) and the
 * first one gets focus order first because it comes first in the page.
 */
import type { Child } from "hono/jsx";
import type { Context } from "hono";
import { ASSET_VERSIONS } from "./assets";
import type { DashEnv } from "./types";

/** A field's error messages as the API gave them (`details[].field` → messages). */
export type FieldErrors = Record<string, string[]>;

interface LayoutProps {
  title: string;
  dash?: DashEnv["Variables"]["dash"] | null;
  children?: Child;
}

/** The whole page, with the navigation a viewer may use. */
export async function page(c: Context<DashEnv>, props: LayoutProps, status: 200 | 201 | 400 | 403 | 404 | 409 | 410 | 422 | 429 | 500 = 200) {
  const v = ASSET_VERSIONS;
  const d = props.dash;
  c.header("Cache-Control", "no-store");
  return c.html(
    "<!doctype html>" +
      (
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <meta name="referrer" content="no-referrer" />
            <title>{`${props.title} · Rubric Webhooks`}</title>
            <link rel="stylesheet" href={`/dashboard/assets/app.css?v=${v.css}`} />
            <script src={`/dashboard/assets/app.js?v=${v.js}`} defer></script>
          </head>
          <body>
            <a class="skip" href="#main">
              Skip to content
            </a>
            <header>
              <a class="brand" href="/dashboard">
                Rubric Webhooks
              </a>
              {d && (
                <nav aria-label="Main">
                  <a href="/dashboard">Webhooks</a>
                  {!d.webhookIds && <a href="/dashboard/events">Events</a>}
                  <a href="/dashboard/activity">Activity</a>
                  {d.kind === "portal" && <span class="badge">{d.readOnly ? "Portal · read-only" : "Portal"}</span>}
                  <form method="post" action="/dashboard/sign-out">
                    <input type="hidden" name="_csrf" value={d.csrf} />
                    <button type="submit">Sign out</button>
                  </form>
                </nav>
              )}
            </header>
            <main id="main">{props.children}</main>
          </body>
        </html>
      ).toString(),
    status,
  );
}

/** The hidden CSRF field every form carries. */
export const Csrf = ({ token }: { token: string }) => <input type="hidden" name="_csrf" value={token} />;

interface FieldProps {
  name: string;
  label: string;
  value?: string;
  errors?: FieldErrors;
  type?: string;
  hint?: string;
  required?: boolean;
  textarea?: boolean;
  options?: string[];
}

/** A labelled control with its hint and the API's messages for it. */
export function Field({ name, label, value = "", errors = {}, type = "text", hint, required, textarea, options }: FieldProps) {
  const id = `f-${name}`;
  const messages = errors[name] ?? [];
  const described = [hint ? `${id}-hint` : "", messages.length ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
  const common = { id, name, "aria-describedby": described, "aria-invalid": messages.length ? "true" : undefined, required };
  return (
    <div>
      <label for={id}>{label}</label>
      {hint && (
        <div id={`${id}-hint`} class="hint">
          {hint}
        </div>
      )}
      {options ? (
        <select {...common}>
          {options.map((o) => (
            <option value={o} selected={o === value}>
              {o}
            </option>
          ))}
        </select>
      ) : textarea ? (
        <textarea {...common}>{value}</textarea>
      ) : (
        <input {...common} type={type} value={value} />
      )}
      {messages.length > 0 && (
        <p id={`${id}-err`} class="field-error">
          {messages.join("; ")}
        </p>
      )}
    </div>
  );
}

/** A list filter's status select: "any", then each status, the current one selected. */
export const StatusFilter = ({ id, statuses, value }: { id: string; statuses: string[]; value: string }) => (
  <div>
    <label for={id}>Status</label>
    <select id={id} name="status">
      {["", ...statuses].map((s) => (
        <option value={s} selected={s === value}>
          {s || "any"}
        </option>
      ))}
    </select>
  </div>
);

/** The API's error as a page-level alert (role=alert so screen readers announce it). */
export const Alert = ({ message }: { message?: string | null }) =>
  message ? (
    <div class="alert" role="alert">
      {message}
    </div>
  ) : null;

/** A status word as a coloured badge (the colour is never the only signal: the word is there). */
export function StatusBadge({ status }: { status: string }) {
  const tone = ["active", "succeeded", "success", "dispatched"].includes(status) ? "ok" : ["failed", "disabled", "dead_lettered", "cancelled"].includes(status) ? "bad" : "warn";
  return <span class={`badge ${tone}`}>{status}</span>;
}

/** Marks a `rubric listen` webhook (its deliveries go to a developer's CLI, not to its URL); nothing for HTTP ones. */
export function TransportBadge({ transport }: { transport?: string }) {
  return transport === "listen" ? (
    <span class="badge warn" title="rubric listen: delivered over the CLI's WebSocket, forwarded to this local URL">
      listen
    </span>
  ) : null;
}

/** ISO time, shortened for tables. */
export const when = (iso: string | null | undefined) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "—");
