/**
 * Hand-written SVG bar charts (no chart library): panels side by side, each with groups of bars
 * (one group per case, one bar per series), values written above the bars.
 */
export interface Panel {
  title: string;
  /** One group per case: its label and one value per series (NaN: not measured). */
  groups: Array<{ label: string; values: number[] }>;
}

/** A chart: its title, one legend entry per series, its panels. */
export interface ChartOptions {
  title: string;
  subtitle?: string;
  series: string[];
  panels: Panel[];
  /** Panels per row (default: all in one row). */
  columns?: number;
}

const COLORS = ['#2f6fed', '#b7791f', '#8a8f98', '#1a7f37', '#b42318'];

/** The chart as an SVG document (white background, values above the bars, a legend below). */
export function barChart(o: ChartOptions): string {
  const columns = o.columns ?? o.panels.length;
  const groupsMax = Math.max(...o.panels.map((p) => p.groups.length));
  const barW = 18;
  const pw = Math.max(260, groupsMax * (o.series.length * barW + 22) + 50);
  // Few groups spread over the panel, so that their labels never run into each other.
  const groupW = (pw - 50) / groupsMax;
  const ph = 250;
  const rows = Math.ceil(o.panels.length / columns);
  const width = columns * pw + 20;
  const top = o.subtitle ? 54 : 36;
  const height = top + rows * (ph + 20) + 30;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`;
  out += `<rect width="100%" height="100%" fill="#fff"/>`;
  out += `<text x="10" y="22" font-size="15" font-weight="bold">${escape(o.title)}</text>`;
  if (o.subtitle) out += `<text x="10" y="40" fill="#555">${escape(o.subtitle)}</text>`;
  o.panels.forEach((panel, p) => {
    const x0 = 10 + (p % columns) * pw;
    const y0 = top + Math.floor(p / columns) * (ph + 20);
    const values = panel.groups.flatMap((g) => g.values).filter(Number.isFinite);
    const max = Math.max(...values, 1e-9);
    const plotTop = y0 + 34;
    const plotH = ph - 90;
    out += `<text x="${x0 + 8}" y="${y0 + 14}" font-weight="bold" font-size="12">${escape(panel.title)}</text>`;
    out += `<line x1="${x0 + 8}" y1="${plotTop + plotH}" x2="${x0 + pw - 14}" y2="${plotTop + plotH}" stroke="#999"/>`;
    panel.groups.forEach((g, gi) => {
      const gx = x0 + 16 + gi * groupW + (groupW - g.values.length * barW - 22) / 2;
      g.values.forEach((v, si) => {
        const bx = gx + si * barW;
        if (!Number.isFinite(v)) {
          out += `<text x="${bx + barW / 2}" y="${plotTop + plotH - 3}" text-anchor="middle" fill="#999" font-size="9">–</text>`;
          return;
        }
        const h = Math.max(1, (v / max) * plotH);
        const by = plotTop + plotH - h;
        out += `<rect x="${bx}" y="${by}" width="${barW - 3}" height="${h}" fill="${COLORS[si % COLORS.length]}"><title>${escape(`${o.series[si]}, ${g.label}: ${short(v)}`)}</title></rect>`;
        out += `<text x="${bx + (barW - 3) / 2}" y="${by - 3}" text-anchor="middle" font-size="8" transform="rotate(-60 ${bx + (barW - 3) / 2} ${by - 3})">${short(v)}</text>`;
      });
      // Case labels, one or two lines (split at " · ").
      const [a, b] = g.label.split(' · ');
      const lx = gx + (g.values.length * barW) / 2 - 2;
      out += `<text x="${lx}" y="${plotTop + plotH + 14}" text-anchor="middle" font-size="9">${escape(a ?? '')}</text>`;
      if (b) out += `<text x="${lx}" y="${plotTop + plotH + 25}" text-anchor="middle" font-size="9">${escape(b)}</text>`;
    });
  });
  const ly = height - 16;
  // Each legend entry as wide as its text (about 6.5 px a character at 11 px), at least 170 px.
  let lx = 10;
  o.series.forEach((s, i) => {
    out += `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`;
    out += `<text x="${lx + 18}" y="${ly}">${escape(s)}</text>`;
    lx += Math.max(170, 18 + Math.ceil(s.length * 6.5) + 20);
  });
  return `${out}</svg>\n`;
}

function short(v: number): string {
  if (v >= 10000) return `${Math.round(v / 1000)}k`;
  if (v >= 100) return String(Math.round(v));
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
