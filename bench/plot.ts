/**
 * Hand-written SVG line charts for BENCHMARKS.md: one panel per measure, a
 * line per series, no dependency. Enough for "throughput and latency against
 * load"; not a plotting library.
 */

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Log10 y axis, for latencies that span decades. */
  logY?: boolean;
  series: Series[];
}

const W = 420;
const H = 300;
const M = { left: 64, right: 16, top: 28, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) =>
  v >= 1000
    ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k`
    : v >= 10
      ? v.toFixed(0)
      : v.toPrecision(2);

function panel(p: Panel, dx: number): string {
  const xs = p.series.flatMap((s) => s.points.map((pt) => pt.x));
  const ys = p.series.flatMap((s) => s.points.map((pt) => pt.y)).filter((y) => y > 0);
  const xMax = Math.max(...xs, 1);
  const yMaxRaw = Math.max(...ys, 1e-3);
  const yMinRaw = Math.min(...ys, yMaxRaw);
  const lo = p.logY ? 10 ** Math.floor(Math.log10(yMinRaw)) : 0;
  const hi = p.logY ? 10 ** Math.ceil(Math.log10(yMaxRaw)) : yMaxRaw * 1.1;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const X = (x: number) => dx + M.left + (x / xMax) * plotW;
  const Y = (y: number) => {
    const f = p.logY
      ? (Math.log10(Math.max(y, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : (y - lo) / (hi - lo);
    return M.top + plotH * (1 - f);
  };
  const out: string[] = [];
  out.push(
    `<text x="${dx + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
  );
  out.push(
    `<rect x="${dx + M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  const yTicks = p.logY
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (hi * i) / 4);
  for (const t of yTicks) {
    out.push(
      `<line x1="${dx + M.left}" x2="${dx + M.left + plotW}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/>`,
      `<text x="${dx + M.left - 4}" y="${Y(t) + 4}" text-anchor="end" font-size="10">${fmt(t)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = (xMax * i) / 4;
    out.push(
      `<text x="${X(t)}" y="${M.top + plotH + 14}" text-anchor="middle" font-size="10">${fmt(t)}</text>`,
    );
  }
  out.push(
    `<text x="${dx + M.left + plotW / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`,
    `<text transform="translate(${dx + 14},${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`,
  );
  p.series.forEach((s, i) => {
    const pts = s.points.map((pt) => `${X(pt.x).toFixed(1)},${Y(pt.y).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const pt of s.points) {
      out.push(
        `<circle cx="${X(pt.x).toFixed(1)}" cy="${Y(pt.y).toFixed(1)}" r="3" fill="${s.color}"/>`,
      );
    }
    const ly = M.top + 14 + i * 14;
    out.push(
      `<rect x="${dx + M.left + 8}" y="${ly - 9}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${dx + M.left + 22}" y="${ly}" font-size="11">${esc(s.name)}</text>`,
    );
  });
  return out.join("\n");
}

export function chart(title: string, panels: Panel[]): string {
  const width = W * panels.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" role="img">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    ...panels.map((p, i) => panel(p, i * W)),
    "</svg>",
    "",
  ].join("\n");
}
