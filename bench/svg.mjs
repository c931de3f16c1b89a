// A hand-written SVG chart of the end-to-end scenarios, no dependencies:
// left, deliveries per second over time (1 s buckets, one line per scenario);
// right, the cumulative distribution of end-to-end latency (log-scale x axis,
// since a healthy receiver sees tens of ms and a saturated pipeline seconds).

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const W = 1000;
const H = 420;
const PANEL = { w: 400, h: 290, top: 60 };
const LEFT_X = 70;
const RIGHT_X = 560;

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (v) => (Math.round(v * 10) / 10).toString();

/** "Nice" tick values from 0 to at least max (1, 2 or 5 × 10^k steps). */
function linearTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

/** Decade ticks (1, 10, 100 … ms) covering [min, max]. */
function logTicks(min, max) {
  const lo = Math.floor(Math.log10(Math.max(min, 0.1)));
  const hi = Math.ceil(Math.log10(Math.max(max, 1)));
  const ticks = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) ticks.push(10 ** e);
  return ticks;
}

const msLabel = (v) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`);

/** Axis frame, grid lines and tick labels of one panel. */
function frame(x0, title, xTicks, xPos, xLabel, xText, yTicks, yPos, yLabel, yText) {
  const { w, h, top } = PANEL;
  const out = [`<text x="${x0 + w / 2}" y="${top - 22}" class="title">${esc(title)}</text>`];
  for (const t of yTicks) {
    const y = yPos(t);
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${num(y)}" y2="${num(y)}" class="grid"/>`);
    out.push(`<text x="${x0 - 6}" y="${num(y + 4)}" class="tick" text-anchor="end">${esc(yText(t))}</text>`);
  }
  for (const t of xTicks) {
    const x = xPos(t);
    out.push(`<line x1="${num(x)}" x2="${num(x)}" y1="${top}" y2="${top + h}" class="grid"/>`);
    out.push(`<text x="${num(x)}" y="${top + h + 16}" class="tick" text-anchor="middle">${esc(xText(t))}</text>`);
  }
  out.push(`<rect x="${x0}" y="${top}" width="${w}" height="${h}" class="axis"/>`);
  out.push(`<text x="${x0 + w / 2}" y="${top + h + 36}" class="label">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 - 50} ${top + h / 2}) rotate(-90)" class="label">${esc(yLabel)}</text>`);
  return out.join("\n");
}

const polyline = (points, color, extra = "") =>
  `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round" ${extra} points="${points.map(([x, y]) => `${num(x)},${num(y)}`).join(" ")}"/>`;

/**
 * The chart as an SVG document.
 * @param {{e2e?: any[], quick?: boolean, date?: string}} results
 */
export function renderSvg(results) {
  const scenarios = (results.e2e ?? []).filter((s) => s.per_second?.length || s.cdf?.length);
  const { w, h, top } = PANEL;
  const parts = [];

  // Left: deliveries per second over time.
  const maxT = Math.max(1, ...scenarios.map((s) => s.per_second.length));
  const maxY = Math.max(1, ...scenarios.flatMap((s) => s.per_second));
  const xT = linearTicks(maxT, 6);
  const yT = linearTicks(maxY, 5);
  const xL = (t) => LEFT_X + (t / xT[xT.length - 1]) * w;
  const yL = (v) => top + h - (v / yT[yT.length - 1]) * h;
  parts.push(frame(LEFT_X, "Deliveries per second (1 s buckets)", xT, xL, "seconds since the scenario's first send", String, yT, yL, "deliveries / s", String));
  // Where the saturation scenarios stop sending (the first to stop; the others' last answers
  // may take a moment longer): what follows is the backlog draining.
  const stops = scenarios.filter((s) => s.load?.mode === "closed").map((s) => s.duration_s ?? 0);
  const stop = stops.length ? Math.min(...stops) : 0;
  if (stop > 0) {
    const x = num(xL(stop));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + h}" stroke="#999" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${num(xL(stop) + 4)}" y="${top + 12}" class="tick">sending stops</text>`);
  }
  scenarios.forEach((s, i) => {
    // Each bucket's count drawn at the bucket's middle.
    const pts = s.per_second.map((v, b) => [xL(b + 0.5), yL(v)]);
    if (pts.length) parts.push(polyline(pts, COLORS[i % COLORS.length], s.load?.mode === "open" ? 'stroke-dasharray="5 3"' : ""));
  });

  // Right: latency CDF on a log axis.
  const all = scenarios.flatMap((s) => s.cdf).filter((v) => v > 0);
  const lt = logTicks(all.length ? Math.min(...all) : 1, all.length ? Math.max(...all) : 1000);
  const [lo, hi] = [Math.log10(lt[0]), Math.log10(lt[lt.length - 1])];
  const xR = (v) => RIGHT_X + ((Math.log10(Math.max(v, lt[0])) - lo) / (hi - lo)) * w;
  const yR = (p) => top + h - (p / 100) * h;
  parts.push(frame(RIGHT_X, "End-to-end latency CDF (send → receipt)", lt, xR, "latency (log scale)", msLabel, [0, 25, 50, 75, 90, 100], yR, "% of deliveries", (p) => `${p}%`));
  scenarios.forEach((s, i) => {
    if (!s.cdf.length) return;
    parts.push(polyline(s.cdf.map((v, q) => [xR(v), yR(q)]), COLORS[i % COLORS.length], s.load?.mode === "open" ? 'stroke-dasharray="5 3"' : ""));
  });

  // Legend, shared by both panels.
  const legend = scenarios.map((s, i) => {
    const x = LEFT_X + i * Math.min(230, (W - LEFT_X) / scenarios.length);
    const y = H - 14;
    const name = s.legend ?? (s.load?.mode === "open" ? `fan-out ${s.fan_out} @ ${s.load.rate}/s (latency probe)` : `fan-out ${s.fan_out} (saturated${s.with_ingest ? ", ingest alongside" : ""})`);
    const dash = s.load?.mode === "open" ? ' stroke-dasharray="5 3"' : "";
    return `<line x1="${x}" x2="${x + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"${dash}/><text x="${x + 30}" y="${y}" class="tick">${esc(name)}</text>`;
  });
  const subtitle = `Rubric Webhooks ${results.quick ? "--quick " : ""}benchmark · ${results.date ?? ""}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 15px; font-weight: bold; text-anchor: middle; fill: #222; }
  .label { font-size: 12px; text-anchor: middle; fill: #444; }
  .tick { font-size: 11px; fill: #555; }
  .grid { stroke: #e4e4e4; stroke-width: 1; }
  .axis { fill: none; stroke: #888; stroke-width: 1; }
</style>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="16" class="label">${esc(subtitle)}</text>
${parts.join("\n")}
${legend.join("\n")}
${scenarios.length ? "" : `<text x="${W / 2}" y="${H / 2}" class="title">no end-to-end data</text>`}
</svg>
`;
}
