/** The operator's metrics in Prometheus text exposition format. */
import { RECOVERY_BOUND_SECONDS } from "../dispatch/recovery-bound";
import { BILLABLE_OPS, LATENCY_BUCKETS_MS } from "../lib/counter-names";
import type { Counters } from "./counters";
import type { PendingEvents } from "./pending";
import { asleepCount, type EndpointState, oldestAgeSeconds } from "./snapshot";

const v = (c: Counters, k: keyof Counters) => c[k] ?? 0;

/** Renders counters, endpoint state and the outbox's pending events as Prometheus text. */
export function renderPrometheus(c: Counters, endpoints: EndpointState[], pending: PendingEvents, now = Date.now()): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: Array<[string, number]>, suffix = "") => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${suffix}${labels} ${value}`);
  };
  metric("rubric_events_accepted_total", "counter", "Events accepted (answered 202).", [["", v(c, "events_accepted")]]);
  metric("rubric_deliveries_total", "counter", "Deliveries finished, by outcome.", [
    ['{status="succeeded"}', v(c, "deliveries_succeeded")],
    ['{status="failed"}', v(c, "deliveries_failed")],
  ]);
  metric("rubric_attempts_total", "counter", "Delivery attempts made.", [["", v(c, "attempts")]]);
  metric("rubric_retries_total", "counter", "Attempts after the first of a delivery.", [["", v(c, "retries")]]);
  let cumulative = 0;
  const buckets: Array<[string, number]> = LATENCY_BUCKETS_MS.map((b) => {
    cumulative += v(c, `latency_le_${b}`);
    return [`{le="${b}"}`, cumulative];
  });
  const count = cumulative + v(c, "latency_le_inf");
  metric("rubric_attempt_duration_ms", "histogram", "Attempt duration (request sent to response read), ms.", [
    ...buckets,
    ['{le="+Inf"}', count],
  ], "_bucket");
  out.push(`rubric_attempt_duration_ms_sum ${v(c, "latency_sum_ms")}`, `rubric_attempt_duration_ms_count ${count}`);
  metric(
    "rubric_billable_ops_total",
    "counter",
    "Billable operations as Cloudflare counts them.",
    BILLABLE_OPS.map((op) => [`{op="${op}"}`, v(c, op)]),
  );
  metric("rubric_endpoint_backlog", "gauge", "Deliveries waiting at an endpoint.", endpoints.map((e) => [`{webhook_id="${e.webhook_id}"}`, e.backlog]));
  metric("rubric_endpoint_in_flight", "gauge", "Attempts in progress at an endpoint.", endpoints.map((e) => [`{webhook_id="${e.webhook_id}"}`, e.in_flight]));
  metric("rubric_oldest_undelivered_age_seconds", "gauge", "Age of the oldest event still waiting at any endpoint.", [
    ["", oldestAgeSeconds(endpoints, now)],
  ]);
  metric("rubric_endpoints_asleep", "gauge", "Endpoints found holding deliveries with no alarm that would run (re-armed when found; alert on > 0).", [
    ["", asleepCount(endpoints)],
  ]);
  // The outbox: accepted events not fanned out yet. Over the bound is a stall of ours (alert on > 0).
  metric("rubric_pending_events", "gauge", "Accepted events not yet fanned out to their webhooks.", [["", pending.count]]);
  metric("rubric_oldest_pending_event_age_seconds", "gauge", "Age of the oldest accepted event not yet fanned out, or 0.", [
    ["", pending.oldest_age_seconds],
  ]);
  metric("rubric_events_pending_over_bound", "gauge", `Accepted events pending longer than the recovery bound (${RECOVERY_BOUND_SECONDS} s).`, [
    ["", pending.over_bound],
  ]);
  return `${out.join("\n")}\n`;
}
