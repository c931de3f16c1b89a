/** @jsxImportSource hono/jsx */
/**
 * A webhook's deliveries (filters: status, event type, time window; cursor
 * paging), "retry all failed since…", and one delivery with every attempt.
 */
import { Hono } from "hono";
import { parseDeliveryId } from "../../lib/ids";
import { query } from "../api-client";
import { ok } from "../api-errors";
import { assertWebhook } from "../guard";
import { Csrf, page, StatusBadge, StatusFilter, when } from "../layout";
import type { DashEnv } from "../types";

const WINDOWS: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000 };
const STATUSES = ["pending", "succeeded", "failed", "cancelled"];

export const deliveryRouter = new Hono<DashEnv>();

deliveryRouter.get("/webhooks/:id/deliveries", async (c) => {
  const d = c.var.dash;
  const id = c.req.param("id");
  assertWebhook(d, id);
  const f = { status: c.req.query("status") ?? "", event_type: c.req.query("event_type") ?? "", window: c.req.query("window") ?? "", cursor: c.req.query("cursor") };
  const since = WINDOWS[f.window] ? new Date(Date.now() - WINDOWS[f.window]!).toISOString() : undefined;
  const w = ok(await d.api("GET", `/v1/webhooks/${id}`));
  const list = ok(await d.api("GET", `/v1/webhooks/${id}/deliveries${query({ limit: 25, status: STATUSES.includes(f.status) ? f.status : undefined, event_type: f.event_type, since, cursor: f.cursor })}`));
  const queued = c.req.query("queued");
  const rows = list.data as Array<{ id: string; event_type: string; status: string; attempts: number; response_code: number | null; created_at: string; last_error: string | null }>;
  const defaultSince = new Date(Date.now() - 86_400_000).toISOString().slice(0, 16);
  return page(c, {
    title: `Deliveries of ${w.name}`,
    dash: d,
    children: (
      <>
        <h1>
          Deliveries of <a href={`/dashboard/webhooks/${id}`}>{w.name}</a>
        </h1>
        {queued !== undefined && (
          <p class="notice" role="status">
            {queued} failed deliveries queued for another attempt.
          </p>
        )}
        <form method="get" class="filters card" data-autosubmit action={`/dashboard/webhooks/${id}/deliveries`}>
          <StatusFilter id="flt-status" statuses={STATUSES} value={f.status} />
          <div>
            <label for="flt-type">Event type</label>
            <input id="flt-type" name="event_type" value={f.event_type} />
          </div>
          <div>
            <label for="flt-window">Events made in the last</label>
            <select id="flt-window" name="window">
              {["", ...Object.keys(WINDOWS)].map((k) => (
                <option value={k} selected={k === f.window}>
                  {k || "any time"}
                </option>
              ))}
            </select>
          </div>
          <div>
            <button type="submit">Filter</button>
          </div>
        </form>
        <div class="scroll">
          <table>
            <caption class="skip">Deliveries, oldest event first</caption>
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Event type</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Code</th>
                <th scope="col" class="hide-narrow">Event time</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td>
                    <a href={`/dashboard/deliveries/${r.id}`} aria-label={`Delivery ${r.id}`}>
                      {`…${r.id.slice(-8)}`}
                    </a>
                  </td>
                  <td>{r.event_type}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.attempts}</td>
                  <td>{r.response_code ?? "—"}</td>
                  <td class="hide-narrow">{when(r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows.length === 0 && <p>No deliveries match.</p>}
        {list.next_cursor && (
          <p>
            <a href={`/dashboard/webhooks/${id}/deliveries${query({ status: f.status, event_type: f.event_type, window: f.window, cursor: list.next_cursor })}`}>Next page</a>
          </p>
        )}
        {!d.readOnly && (
          <form method="post" action={`/dashboard/webhooks/${id}/retry_failed`} class="card">
            <Csrf token={d.csrf} />
            <h2>Retry failed deliveries</h2>
            <label for="retry-since">Of events made since (UTC)</label>
            <input id="retry-since" name="since" type="datetime-local" value={defaultSince} required />
            <button type="submit">Retry all failed since then</button>
          </form>
        )}
      </>
    ),
  });
});

deliveryRouter.post("/webhooks/:id/retry_failed", async (c) => {
  const id = c.req.param("id");
  assertWebhook(c.var.dash, id);
  const form = await c.req.parseBody();
  const local = String(form.since ?? "");
  // datetime-local has no zone: the form says UTC.
  const since = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(local) ? `${local.length === 16 ? `${local}:00` : local}Z` : local;
  const r = ok(await c.var.dash.api("POST", `/v1/webhooks/${id}/retry_failed`, { since }));
  return c.redirect(`/dashboard/webhooks/${id}/deliveries?queued=${r.queued}`, 303);
});

/** The webhook a delivery id names, checked against the session's portal limit. */
function deliveryWebhook(c: { var: DashEnv["Variables"] }, id: string) {
  const ids = parseDeliveryId(id);
  assertWebhook(c.var.dash, ids?.webhookId ?? "");
  return ids!.webhookId;
}

deliveryRouter.get("/deliveries/:id", async (c) => {
  const d = c.var.dash;
  const id = c.req.param("id");
  const webhookId = deliveryWebhook(c, id);
  const r = ok(await d.api("GET", `/v1/deliveries/${id}`));
  const attempts = r.attempt_log as Array<Record<string, any>>;
  return page(c, {
    title: `Delivery ${id}`,
    dash: d,
    children: (
      <>
        <h1>
          Delivery <StatusBadge status={r.status} />
        </h1>
        {c.req.query("done") === "retried" && (
          <p class="notice" role="status">
            Queued for another attempt.
          </p>
        )}
        <dl class="card">
          <dt>Delivery</dt>
          <dd>
            <code>{r.id}</code>
          </dd>
          <dt>Webhook</dt>
          <dd>
            <a href={`/dashboard/webhooks/${webhookId}`}>{webhookId}</a>
          </dd>
          <dt>Event</dt>
          <dd>{d.webhookIds ? <code>{r.event_id}</code> : <a href={`/dashboard/events/${r.event_id}`}>{r.event_id}</a>}</dd>
          <dt>Event type</dt>
          <dd>{r.event_type}</dd>
          <dt>Attempts</dt>
          <dd>{r.attempts}</dd>
          <dt>Next attempt</dt>
          <dd>{when(r.next_attempt_at)}</dd>
        </dl>
        {!d.readOnly && (
          <form method="post" action={`/dashboard/deliveries/${id}/retry`}>
            <Csrf token={d.csrf} />
            <button type="submit">Retry now</button>
          </form>
        )}
        {attempts.map((a) => (
          <section class="card" aria-labelledby={`att-${a.attempt}`}>
            <h2 id={`att-${a.attempt}`}>
              Attempt {a.attempt} ({a.trigger}) · {a.response_code ?? "no response"} · {a.duration_ms} ms
            </h2>
            <p>Started {when(a.started_at)}</p>
            {a.traceparent && (
              <p>
                Trace context: <code>traceparent: {a.traceparent}</code>
              </p>
            )}
            {a.error && <p class="field-error">Error: {a.error}</p>}
            <h3>Request headers</h3>
            <pre>{headerText(a.request_headers)}</pre>
            <h3>Response headers</h3>
            <pre>{headerText(a.response_headers)}</pre>
            <h3>Response body</h3>
            <pre>{a.response_body ?? ""}</pre>
          </section>
        ))}
      </>
    ),
  });
});

deliveryRouter.post("/deliveries/:id/retry", async (c) => {
  const id = c.req.param("id");
  deliveryWebhook(c, id);
  ok(await c.var.dash.api("POST", `/v1/deliveries/${id}/retry`));
  return c.redirect(`/dashboard/deliveries/${id}?done=retried`, 303);
});

const headerText = (h: Record<string, string> | null) =>
  h
    ? Object.entries(h)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n")
    : "(none)";
