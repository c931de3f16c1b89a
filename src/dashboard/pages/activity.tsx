/** @jsxImportSource hono/jsx */
/** Attempts per minute by outcome and attempt latency percentiles, over the last 24 hours. */
import { recordsOf } from "../../middleware/request-context";
import { Hono } from "hono";
import { query } from "../api-client";
import { ok } from "../api-errors";
import { ActivityChart, LatencyChart } from "../charts";
import { canSeeWebhook } from "../guard";
import { page } from "../layout";
import { activity } from "../stats";
import type { DashEnv } from "../types";

/** Webhooks the chart covers at most (the API's largest page). */
const MAX_WEBHOOKS = 250;

export const activityRouter = new Hono<DashEnv>();

activityRouter.get("/activity", async (c) => {
  const d = c.var.dash;
  // The webhooks come from the API, so the aggregate covers exactly what the session may list.
  const hooks = (ok(await d.api("GET", `/v1/webhooks${query({ limit: MAX_WEBHOOKS })}`)).data as Array<{ id: string }>).filter((w) => canSeeWebhook(d, w.id));
  const now = Date.now();
  const data = await activity(recordsOf(c, d.accountId), d.accountId, hooks.map((w) => w.id), now);
  return page(c, {
    title: "Activity",
    dash: d,
    children: (
      <>
        <h1>Activity, last 24 hours</h1>
        <section class="card" aria-labelledby="per-minute-h">
          <h2 id="per-minute-h">Attempts per minute by outcome</h2>
          <ActivityChart series={data.series} now={now} />
        </section>
        <section class="card" aria-labelledby="latency-h">
          <h2 id="latency-h">Attempt latency percentiles</h2>
          <LatencyChart p={data.latency} />
          <p>{data.latency.count} attempts.</p>
        </section>
      </>
    ),
  });
});
