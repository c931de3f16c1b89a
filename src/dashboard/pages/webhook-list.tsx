/** @jsxImportSource hono/jsx */
/** The webhooks list (name, URL, events, status, 24 h success rate, sparkline) and creating a webhook. */
import { recordsOf } from "../../middleware/request-context";
import { type Context, Hono } from "hono";
import { query } from "../api-client";
import { fieldErrors, ok } from "../api-errors";
import { Sparkline } from "../charts";
import { assertAccountWide, canSeeWebhook } from "../guard";
import { page, StatusBadge, TransportBadge } from "../layout";
import { hourlyByWebhook } from "../stats";
import type { DashEnv } from "../types";
import { readForm, toApiBody, WebhookForm, type WebhookFormValues } from "./webhook-form";
import { SecretBox } from "./webhook-parts";

/** Webhooks per page. */
const PAGE_SIZE = 50;

const percent = (ok: number, bad: number) => (ok + bad ? `${Math.round((ok / (ok + bad)) * 1000) / 10}%` : "—");

export const webhookListRouter = new Hono<DashEnv>();

webhookListRouter.get("/", async (c) => {
  const d = c.var.dash;
  const cursor = c.req.query("cursor");
  const res = ok(await d.api("GET", `/v1/webhooks${query({ limit: PAGE_SIZE, cursor })}`));
  const hooks = (res.data as Array<{ id: string; name: string; url: string; events: string[]; status: string; transport: string }>).filter((w) => canSeeWebhook(d, w.id));
  const hourly = hooks.length ? await hourlyByWebhook(recordsOf(c, d.accountId), d.accountId, hooks.map((w) => w.id)) : new Map();
  const notice = c.req.query("done") === "deleted" ? "The webhook was deleted." : null;
  return page(c, {
    title: "Webhooks",
    dash: d,
    children: (
      <>
        <h1>Webhooks</h1>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        {!d.readOnly && !d.webhookIds && (
          <p>
            <a class="button" href="/dashboard/webhooks/new">
              New webhook
            </a>
          </p>
        )}
        {hooks.length === 0 ? (
          <p>No webhooks yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption class="skip">Webhooks with their delivery success over the last 24 hours</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" class="hide-narrow">URL</th>
                  <th scope="col" class="hide-narrow">Events</th>
                  <th scope="col">Status</th>
                  <th scope="col">Success 24 h</th>
                  <th scope="col">Attempts by hour</th>
                </tr>
              </thead>
              <tbody>
                {hooks.map((w) => {
                  const s = hourly.get(w.id) ?? { ok: Array(24).fill(0), bad: Array(24).fill(0) };
                  const okN = s.ok.reduce((a: number, b: number) => a + b, 0);
                  const badN = s.bad.reduce((a: number, b: number) => a + b, 0);
                  return (
                    <tr>
                      <td>
                        <a href={`/dashboard/webhooks/${w.id}`}>{w.name}</a>
                      </td>
                      <td class="hide-narrow">
                        <code>{w.url}</code>
                      </td>
                      <td class="hide-narrow">{w.events.join(", ")}</td>
                      <td>
                        <StatusBadge status={w.status} /> <TransportBadge transport={w.transport} />
                      </td>
                      <td data-success-rate={w.id}>{percent(okN, badN)}</td>
                      <td>
                        <Sparkline series={s} label={`${okN} attempts succeeded and ${badN} failed in the last 24 hours`} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {res.next_cursor && (
          <p>
            <a href={`/dashboard${query({ cursor: res.next_cursor })}`}>Next page</a>
          </p>
        )}
      </>
    ),
  });
});

const EMPTY: WebhookFormValues = { name: "", url: "", events: "", format: "json", description: "" };

function newPage(c: Context<DashEnv>, values: WebhookFormValues, errors: Record<string, string[]>, alert: string | null) {
  const d = c.var.dash;
  return page(
    c,
    {
      title: "New webhook",
      dash: d,
      children: (
        <div class="card">
          <h1>New webhook</h1>
          {alert && (
            <div class="alert" role="alert">
              {alert}
            </div>
          )}
          <WebhookForm action="/dashboard/webhooks" csrf={d.csrf} values={values} errors={errors} submit="Create webhook" />
        </div>
      ),
    },
    alert ? 422 : 200,
  );
}

webhookListRouter.get("/webhooks/new", (c) => {
  assertAccountWide(c.var.dash);
  return newPage(c, EMPTY, {}, null);
});

webhookListRouter.post("/webhooks", async (c) => {
  const d = c.var.dash;
  assertAccountWide(d);
  const values = readForm(await c.req.parseBody());
  const res = await d.api("POST", "/v1/webhooks", toApiBody(values, false));
  if (res.status === 422 || res.status === 400) return newPage(c, values, fieldErrors(res), res.json?.error?.message ?? "The webhook was not created.");
  const created = ok(res);
  return page(
    c,
    {
      title: "Webhook created",
      dash: d,
      children: (
        <div class="card">
          <h1>Webhook created</h1>
          <p class="notice" role="status">
            {created.name} was created. Copy its signing secret now, or reveal it later from the webhook's page.
          </p>
          <SecretBox secret={created.secret} />
          <p>
            <a class="button" href={`/dashboard/webhooks/${created.id}`}>
              Open the webhook
            </a>
          </p>
        </div>
      ),
    },
    201,
  );
});
