/** @jsxImportSource hono/jsx */
/**
 * Charts as inline SVG drawn on the server: no script, no library. Each has a
 * text alternative (role="img" with a label that states the numbers), since a
 * chart alone says nothing to a screen reader. Paths hold only the non-empty
 * buckets, so a quiet day costs a few bytes and a busy one stays bounded.
 */
import type { HourlySeries, MinuteSeries, Percentiles } from "./stats";

const COLORS = { succeeded: "#1e8e3e", retrying: "#e37400", failed: "#c5221f" } as const;

/** 24 hourly bars of attempts, failures stacked on successes. */
export function Sparkline({ series, label }: { series: HourlySeries; label: string }) {
  const totals = series.ok.map((ok, i) => ok + series.bad[i]!);
  const max = Math.max(1, ...totals);
  const h = 24;
  const bar = (values: number[], base: number[] | null) =>
    values
      .map((v, i) => {
        if (!v) return "";
        const under = base ? base[i]! : 0;
        const y0 = h - Math.round(((under + v) / max) * h);
        const y1 = h - Math.round((under / max) * h);
        return y1 > y0 ? `M${i * 4 + 1} ${y0}V${y1}` : "";
      })
      .join("");
  return (
    <svg width="96" height={h} viewBox={`0 0 96 ${h}`} role="img" aria-label={label}>
      <path d={`M0 ${h - 0.5}H96`} stroke="#c4c9cf" stroke-width="1" />
      <path d={bar(series.ok, null)} stroke={COLORS.succeeded} stroke-width="3" />
      <path d={bar(series.bad, series.ok)} stroke={COLORS.failed} stroke-width="3" />
    </svg>
  );
}

/** Attempts per minute over 24 h, one stacked column per minute, by outcome. */
export function ActivityChart({ series, now }: { series: MinuteSeries; now: number }) {
  const W = 1440;
  const H = 160;
  const totals = series.succeeded.map((v, i) => v + series.retrying[i]! + series.failed[i]!);
  const max = Math.max(1, ...totals);
  const stack: Array<keyof MinuteSeries> = ["succeeded", "retrying", "failed"];
  const base = Array(W).fill(0) as number[];
  const paths = stack.map((k) => {
    let d = "";
    series[k].forEach((v, i) => {
      if (!v) return;
      const y0 = H - Math.round(((base[i]! + v) / max) * H);
      const y1 = H - Math.round((base[i]! / max) * H);
      base[i]! += v;
      if (y1 > y0) d += `M${i} ${y0}V${y1}`;
    });
    return { k, d };
  });
  const sum = (k: keyof MinuteSeries) => series[k].reduce((s, v) => s + v, 0);
  const hours = Array.from({ length: 5 }, (_, i) => i * 6);
  const label = `Attempts per minute over the last 24 hours: ${sum("succeeded")} succeeded, ${sum("retrying")} failed and retried, ${sum("failed")} failed for good; busiest minute ${max === 1 && !totals.some(Boolean) ? 0 : max}.`;
  return (
    <figure>
      <svg width="100%" viewBox={`0 0 ${W} ${H + 22}`} role="img" aria-label={label}>
        <path d={`M0 ${H + 0.5}H${W}`} stroke="#8d96a0" stroke-width="1" />
        {paths.map((p) => (
          <path d={p.d} stroke={COLORS[p.k]} stroke-width="2" />
        ))}
        {hours.map((h) => (
          <text x={h * 60 + 2} y={H + 16} font-size="13" fill="#44505c">
            {new Date(now - (24 - h) * 3_600_000).toISOString().slice(11, 16)}
          </text>
        ))}
      </svg>
      <figcaption class="legend">
        <span>
          <i class="sw s-ok"></i>succeeded {sum("succeeded")}
        </span>
        <span>
          <i class="sw s-retry"></i>retrying {sum("retrying")}
        </span>
        <span>
          <i class="sw s-fail"></i>failed {sum("failed")}
        </span>
        <span>max {max}/min (UTC times)</span>
      </figcaption>
    </figure>
  );
}

/** Horizontal bars of the latency percentiles. */
export function LatencyChart({ p }: { p: Percentiles }) {
  const rows = [
    ["p50", p.p50],
    ["p90", p.p90],
    ["p95", p.p95],
    ["p99", p.p99],
  ] as const;
  const max = Math.max(1, ...rows.map(([, v]) => v ?? 0));
  const label = p.count ? `Attempt latency over ${p.count} attempts: ${rows.map(([n, v]) => `${n} ${v} ms`).join(", ")}.` : "No attempts in the last 24 hours.";
  return (
    <svg width="400" height="110" viewBox="0 0 400 110" role="img" aria-label={label}>
      {rows.map(([name, v], i) => (
        <>
          <text x="0" y={i * 26 + 18} font-size="13" fill="#1b1f24">
            {name}
          </text>
          <rect x="40" y={i * 26 + 6} height="16" width={Math.max(1, Math.round(((v ?? 0) / max) * 270))} fill="#0b57d0" />
          <text x={Math.round(((v ?? 0) / max) * 270) + 46} y={i * 26 + 18} font-size="13" fill="#1b1f24">
            {v == null ? "—" : `${v} ms`}
          </text>
        </>
      ))}
    </svg>
  );
}
