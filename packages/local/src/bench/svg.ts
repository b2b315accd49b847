/** A point of a sweep: the load (sessions, or turns/s) and the first delta's p50 and p99 in ms. */
export interface SweepPoint {
  x: number;
  p50: number;
  p99: number;
}

export interface SweepChart {
  modelFirstTokenMs: number;
  /** The capacity criterion, drawn as a line: p99 within this many times the model's first token. */
  capacityRatio: number;
  closed: SweepPoint[];
  open: SweepPoint[];
  caption: string;
}

const WIDTH = 420;
const HEIGHT = 260;
const MARGIN = { left: 48, right: 20, top: 28, bottom: 40 };
/** The y axis's foot: a first delta cannot come much before the model's first token. */
const BOTTOM = 0.9;

/**
 * The bench's chart: two panels, first delta ÷ the model's own first-token time against the
 * closed-loop sessions and the open-loop rate, p50 and p99 (log scale), with the capacity line. Plain SVG.
 */
export function renderSweepSvg(chart: SweepChart): string {
  const ratios = [...chart.closed, ...chart.open].flatMap((p) => [p.p50, p.p99]).map((v) => v / chart.modelFirstTokenMs).filter(Number.isFinite);
  const top = Math.max(2, Math.max(...ratios, chart.capacityRatio) * 1.1);
  const panels = [
    panel(chart, chart.closed, "closed loop: sessions, each turn after the last", top, true),
    panel(chart, chart.open, "open loop: turns/s offered", top, false),
  ];
  const total = { width: WIDTH * 2, height: HEIGHT + 24 };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total.width}" height="${total.height}" viewBox="0 0 ${total.width} ${total.height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<g>${panels[0]}</g>`,
    `<g transform="translate(${WIDTH},0)">${panels[1]}</g>`,
    `<text x="8" y="${HEIGHT + 16}" fill="#444">first delta ÷ the model's own first-token time; ${escape(chart.caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}

function panel(chart: SweepChart, points: SweepPoint[], title: string, top: number, logX: boolean): string {
  const plot = { w: WIDTH - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
  const xs = points.map((p) => p.x);
  const scaleX = logX ? (x: number) => Math.log10(Math.max(1, x)) : (x: number) => x;
  const [low, high] = [Math.min(...xs.map(scaleX), logX ? 0 : 0), Math.max(...xs.map(scaleX), logX ? 1 : 10)];
  const px = (x: number) => MARGIN.left + ((scaleX(x) - low) / (high - low || 1)) * plot.w;
  // Ratios run from about 1 to a hundred once turns queue up: a log scale keeps both ends readable.
  const py = (ratio: number) => MARGIN.top + plot.h - (Math.log(Math.min(Math.max(ratio, BOTTOM), top) / BOTTOM) / Math.log(top / BOTTOM)) * plot.h;
  const line = (pick: (p: SweepPoint) => number, color: string, label: string) => {
    const path = points.map((p) => `${px(p.x).toFixed(1)},${py(pick(p) / chart.modelFirstTokenMs).toFixed(1)}`).join(" ");
    const dots = points.map((p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(pick(p) / chart.modelFirstTokenMs).toFixed(1)}" r="2.5" fill="${color}"/>`).join("");
    return `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>${dots}<text x="${(px(points.at(-1)?.x ?? 0) - 4).toFixed(1)}" y="${(py((points.at(-1) ? pick(points.at(-1)!) : 0) / chart.modelFirstTokenMs) - 6).toFixed(1)}" text-anchor="end" fill="${color}">${label}</text>`;
  };
  const yTicks = [1, 1.5, 2, 5, 10, 20, 50, 100, 200, 500].filter((t) => t <= top);
  return [
    `<text x="${MARGIN.left}" y="16" font-weight="bold">${escape(title)}</text>`,
    ...yTicks.map((t) => `<line x1="${MARGIN.left}" x2="${MARGIN.left + plot.w}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end" fill="#666">${t}×</text>`),
    ...points.map((p) => `<text x="${px(p.x)}" y="${MARGIN.top + plot.h + 16}" text-anchor="middle" fill="#666">${p.x}</text>`),
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plot.w}" y1="${py(chart.capacityRatio)}" y2="${py(chart.capacityRatio)}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${MARGIN.left + plot.w}" y="${py(chart.capacityRatio) - 4}" text-anchor="end" fill="#c00">${chart.capacityRatio}× (capacity criterion)</text>`,
    points.length > 0 ? line((p) => p.p99, "#d2691e", "p99") : "",
    points.length > 0 ? line((p) => p.p50, "#1f6feb", "p50") : "",
  ].join("\n");
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
