/** @jsxImportSource hono/jsx */
/** The account's events (filters: type, status; cursor paging), one event with its deliveries, and replay. */
import { Hono } from "hono";
import { query } from "../api-client";
import { ok } from "../api-errors";
import { assertAccountWide } from "../guard";
import { Csrf, page, StatusBadge, StatusFilter, when } from "../layout";
import type { DashEnv } from "../types";

const STATUSES = ["pending", "dispatched", "dead_lettered"];

export const eventsRouter = new Hono<DashEnv>();
// Events span every webhook of the account: a portal limited to some webhooks does not see them.
eventsRouter.use("/events", async (c, next) => (assertAccountWide(c.var.dash), next()));
eventsRouter.use("/events/*", async (c, next) => (assertAccountWide(c.var.dash), next()));

eventsRouter.get("/events", async (c) => {
  const d = c.var.dash;
  const f = { type: c.req.query("type") ?? "", status: c.req.query("status") ?? "", cursor: c.req.query("cursor") };
  const list = ok(await d.api("GET", `/v1/events${query({ limit: 25, type: f.type, status: STATUSES.includes(f.status) ? f.status : undefined, cursor: f.cursor })}`));
  const rows = list.data as Array<{ id: string; type: string; status: string; created_at: string }>;
  return page(c, {
    title: "Events",
    dash: d,
    children: (
      <>
        <h1>Events</h1>
        <form method="get" action="/dashboard/events" class="filters card" data-autosubmit>
          <div>
            <label for="ev-type">Type</label>
            <input id="ev-type" name="type" value={f.type} />
          </div>
          <StatusFilter id="ev-status" statuses={STATUSES} value={f.status} />
          <div>
            <button type="submit">Filter</button>
          </div>
        </form>
        <div class="scroll">
          <table>
            <caption class="skip">Events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr>
                  <td>
                    <a href={`/dashboard/events/${e.id}`} aria-label={`Event ${e.id}`}>{`…${e.id.slice(-8)}`}</a>
                  </td>
                  <td>{e.type}</td>
                  <td>
                    <StatusBadge status={e.status} />
                  </td>
                  <td>{when(e.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows.length === 0 && <p>No events match.</p>}
        {list.next_cursor && (
          <p>
            <a href={`/dashboard/events${query({ type: f.type, status: f.status, cursor: list.next_cursor })}`}>Next page</a>
          </p>
        )}
      </>
    ),
  });
});

eventsRouter.get("/events/:id", async (c) => {
  const d = c.var.dash;
  const e = ok(await d.api("GET", `/v1/events/${c.req.param("id")}`));
  const replayed = c.req.query("replayed");
  return page(c, {
    title: `Event ${e.id}`,
    dash: d,
    children: (
      <>
        <h1>
          {e.type} <StatusBadge status={e.status} />
        </h1>
        {replayed !== undefined && (
          <p class="notice" role="status">
            Replayed to {replayed} webhook(s).
          </p>
        )}
        <dl class="card">
          <dt>Event</dt>
          <dd>
            <code>{e.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>{when(e.created_at)}</dd>
          <dt>Trace</dt>
          <dd>
            <code>{e.traceparent}</code>
            {e.tracestate && (
              <>
                {" "}
                <code>tracestate: {e.tracestate}</code>
              </>
            )}
          </dd>
        </dl>
        <h2>Data</h2>
        <pre>{JSON.stringify(e.data, null, 2)}</pre>
        {!d.readOnly && (
          <form method="post" action={`/dashboard/events/${e.id}/replay`}>
            <Csrf token={d.csrf} />
            <button type="submit">Replay to every matching webhook</button>
          </form>
        )}
        <h2>Deliveries</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Webhook</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {(e.deliveries as Array<{ id: string; webhook_id: string; status: string; attempts: number }>).map((r) => (
                <tr>
                  <td>
                    <a href={`/dashboard/deliveries/${r.id}`} aria-label={`Delivery ${r.id}`}>{`…${r.id.slice(-8)}`}</a>
                  </td>
                  <td>
                    <a href={`/dashboard/webhooks/${r.webhook_id}`}>{r.webhook_id}</a>
                  </td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    ),
  });
});

eventsRouter.post("/events/:id/replay", async (c) => {
  const id = c.req.param("id");
  const r = ok(await c.var.dash.api("POST", `/v1/events/${id}/replay`, {}));
  return c.redirect(`/dashboard/events/${id}?replayed=${r.data.length}`, 303);
});
