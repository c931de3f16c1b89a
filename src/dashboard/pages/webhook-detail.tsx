/** @jsxImportSource hono/jsx */
/**
 * One webhook: its configuration (an edit form with the API's messages
 * inline), the signing secret (reveal, rotate), enable/disable, delete with a
 * confirmation page, a test send and a body preview.
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { ok } from "../api-errors";
import { assertWebhook } from "../guard";
import { Csrf, type FieldErrors, page, StatusBadge, TransportBadge, when } from "../layout";
import type { DashEnv } from "../types";
import { valuesOf, WebhookForm, type WebhookFormValues } from "./webhook-form";
import { SampleForm, type SampleValues } from "./webhook-parts";

const NOTICES: Record<string, string> = {
  updated: "Changes saved.",
  enabled: "The webhook is enabled.",
  disabled: "The webhook is disabled: it gets no new events and sends nothing until enabled.",
};

/** What a form post adds to the page: results, or the form as typed with its errors. */
export interface DetailExtras {
  values?: WebhookFormValues;
  errors?: FieldErrors;
  alert?: string;
  sample?: SampleValues;
  sampleErrors?: FieldErrors;
  sampleAction?: "test" | "preview";
  result?: Child;
}

const DEFAULT_SAMPLE: SampleValues = { event_type: "evaluation.completed", payload: '{\n  "project_id": "demo",\n  "evaluation_id": "eval_test"\n}' };

/** Renders the webhook page (the webhook read through the API as the session). */
export async function renderWebhook(c: Context<DashEnv>, id: string, x: DetailExtras = {}, status: 200 | 422 = 200) {
  const d = c.var.dash;
  assertWebhook(d, id);
  const w = ok(await d.api("GET", `/v1/webhooks/${id}`));
  const types = ((ok(await d.api("GET", "/v1/event_types")).data ?? []) as Array<{ name: string; operational: boolean }>).filter((t) => !t.operational).map((t) => t.name);
  const notice = NOTICES[c.req.query("done") ?? ""];
  const sample = x.sample ?? DEFAULT_SAMPLE;
  const chat = w.format !== "json";
  return page(
    c,
    {
      title: w.name,
      dash: d,
      children: (
        <>
          <h1>
            {w.name} <StatusBadge status={w.status} /> <TransportBadge transport={w.transport} />
          </h1>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          {x.alert && (
            <div class="alert" role="alert">
              {x.alert}
            </div>
          )}
          {x.result}
          <p>
            <code>{w.id}</code> · created {when(w.created_at)}
            {w.disabled_reason ? ` · disabled: ${w.disabled_reason}` : ""}
          </p>
          <p>
            <a class="button" href={`/dashboard/webhooks/${id}/deliveries`}>
              Deliveries
            </a>
          </p>
          {!d.readOnly && (
            <div class="card">
              <h2>Status</h2>
              <form method="post" action={`/dashboard/webhooks/${id}/${w.status === "active" ? "disable" : "enable"}`} class="inline">
                <Csrf token={d.csrf} />
                <button type="submit" class="secondary">
                  {w.status === "active" ? "Disable" : "Enable"}
                </button>
              </form>
              <a class="button danger" href={`/dashboard/webhooks/${id}/delete`}>
                Delete…
              </a>
            </div>
          )}
          <section class="card" aria-labelledby="config-h">
            <h2 id="config-h">Configuration</h2>
            <WebhookForm action={`/dashboard/webhooks/${id}`} csrf={d.csrf} values={x.values ?? valuesOf(w)} errors={x.errors ?? {}} submit="Save changes" disabled={d.readOnly} />
          </section>
          {!d.readOnly && (
            <section class="card" aria-labelledby="secret-h">
              <h2 id="secret-h">Signing secret</h2>
              <p>Receivers verify each delivery's signature with this secret. Rotating keeps the old one signing for 24 hours.</p>
              <form method="post" action={`/dashboard/webhooks/${id}/secret`} class="inline">
                <Csrf token={d.csrf} />
                <button type="submit" class="secondary">
                  Reveal secret
                </button>
              </form>
              <form method="post" action={`/dashboard/webhooks/${id}/rotate_secret`} class="inline" data-confirm="Rotate the signing secret?">
                <Csrf token={d.csrf} />
                <button type="submit">Rotate secret</button>
              </form>
            </section>
          )}
          {!d.readOnly && (
            <section class="card" aria-labelledby="test-h">
              <h2 id="test-h">Send a test event</h2>
              <SampleForm id={id} action="test" csrf={d.csrf} types={types} values={sample} errors={x.sampleAction === "test" ? (x.sampleErrors ?? {}) : {}} />
            </section>
          )}
          <section class="card" aria-labelledby="preview-h">
            <h2 id="preview-h">Preview the body{chat ? ` (${w.format})` : ""}</h2>
            <p>The exact body this webhook would send for an event, rendered with its format and templates. Nothing is sent.</p>
            <SampleForm id={id} action="preview" csrf={d.csrf} types={types} values={sample} errors={x.sampleAction === "preview" ? (x.sampleErrors ?? {}) : {}} />
          </section>
        </>
      ),
    },
    status,
  );
}
