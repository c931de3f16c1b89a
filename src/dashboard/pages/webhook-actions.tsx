/** @jsxImportSource hono/jsx */
/** The webhook page's forms: each one call to the API as the session, its answer shown on the page. */
import { Hono } from "hono";
import { fieldErrors, ok } from "../api-errors";
import { assertWebhook } from "../guard";
import { Csrf, page } from "../layout";
import type { DashEnv } from "../types";
import { renderWebhook } from "./webhook-detail";
import { readForm, toApiBody } from "./webhook-form";
import { parsePayload, SecretBox, type TestResult, TestResultBox } from "./webhook-parts";

export const webhookActionsRouter = new Hono<DashEnv>();

// Every page and form of one webhook: outside a portal's webhooks it does not exist.
webhookActionsRouter.use("/webhooks/:id", async (c, next) => (assertWebhook(c.var.dash, c.req.param("id")), next()));
webhookActionsRouter.use("/webhooks/:id/*", async (c, next) => (assertWebhook(c.var.dash, c.req.param("id")), next()));

webhookActionsRouter.get("/webhooks/:id", (c) => renderWebhook(c, c.req.param("id")));

webhookActionsRouter.post("/webhooks/:id", async (c) => {
  const id = c.req.param("id");
  const values = readForm(await c.req.parseBody());
  const res = await c.var.dash.api("PATCH", `/v1/webhooks/${id}`, toApiBody(values, true));
  if (res.status === 422 || res.status === 400) return renderWebhook(c, id, { values, errors: fieldErrors(res), alert: res.json?.error?.message }, 422);
  ok(res);
  return c.redirect(`/dashboard/webhooks/${id}?done=updated`, 303);
});

for (const action of ["enable", "disable"] as const) {
  webhookActionsRouter.post(`/webhooks/:id/${action}`, async (c) => {
    const id = c.req.param("id");
    ok(await c.var.dash.api("POST", `/v1/webhooks/${id}/${action}`, action === "disable" ? { reason: "disabled in the dashboard" } : {}));
    return c.redirect(`/dashboard/webhooks/${id}?done=${action}d`, 303);
  });
}

webhookActionsRouter.get("/webhooks/:id/delete", async (c) => {
  const d = c.var.dash;
  const id = c.req.param("id");
  const w = ok(await d.api("GET", `/v1/webhooks/${id}`));
  return page(c, {
    title: `Delete ${w.name}`,
    dash: d,
    children: (
      <div class="card">
        <h1>Delete {w.name}?</h1>
        <p>Deliveries still waiting are cancelled. This cannot be undone.</p>
        <form method="post" action={`/dashboard/webhooks/${id}/delete`}>
          <Csrf token={d.csrf} />
          <button type="submit" class="danger">
            Delete webhook
          </button>
          <a href={`/dashboard/webhooks/${id}`}>Cancel</a>
        </form>
      </div>
    ),
  });
});

webhookActionsRouter.post("/webhooks/:id/delete", async (c) => {
  ok(await c.var.dash.api("DELETE", `/v1/webhooks/${c.req.param("id")}`));
  return c.redirect("/dashboard?done=deleted", 303);
});

webhookActionsRouter.post("/webhooks/:id/secret", async (c) => {
  const d = c.var.dash;
  const id = c.req.param("id");
  const { secret } = ok(await d.api("GET", `/v1/webhooks/${id}/secret`));
  return renderWebhook(c, id, { result: <Result title="Signing secret">{<SecretBox secret={secret} />}</Result> });
});

webhookActionsRouter.post("/webhooks/:id/rotate_secret", async (c) => {
  const id = c.req.param("id");
  const r = ok(await c.var.dash.api("POST", `/v1/webhooks/${id}/rotate_secret`, {}));
  return renderWebhook(c, id, {
    result: (
      <Result title="Secret rotated">
        <SecretBox secret={r.secret} />
        <p>The previous secret keeps signing until {r.previous_secret_expires_at ?? "now"}.</p>
      </Result>
    ),
  });
});

for (const action of ["test", "preview"] as const) {
  webhookActionsRouter.post(`/webhooks/:id/${action}`, async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const sample = { event_type: String(form.event_type ?? ""), payload: String(form.payload ?? "") };
    const parsed = parsePayload(sample.payload);
    if ("error" in parsed) return renderWebhook(c, id, { sample, sampleAction: action, sampleErrors: { payload: [parsed.error] } }, 422);
    const res = await c.var.dash.api("POST", `/v1/webhooks/${id}/${action}`, { event_type: sample.event_type, payload: parsed.payload });
    if (res.status === 422) return renderWebhook(c, id, { sample, sampleAction: action, sampleErrors: { payload: [res.json.error.message] } }, 422);
    const body = ok(res);
    const result =
      action === "test" ? (
        <TestResultBox r={body as TestResult} />
      ) : (
        <Result title={`Body preview (${body.format})`}>
          <pre id="preview-body">{JSON.stringify(body.body, null, 2)}</pre>
          <p>
            Template: {body.source}
            {body.template_key ? ` (${body.template_key})` : ""}
          </p>
        </Result>
      );
    return renderWebhook(c, id, { sample, result });
  });
}

function Result({ title, children }: { title: string; children?: unknown }) {
  return (
    <section class="card" aria-label={title} id="result">
      <h2>{title}</h2>
      {children as never}
    </section>
  );
}
