/**
 * Per-label distribution plot of an evaluation as plain SVG text (no DOM): one panel per metric (Dice, NSD,
 * HD95, ASSD), one column per label, each with a box plot (quartiles by linear interpolation, whiskers at the
 * most extreme values within 1.5 IQR) and the individual cases as jittered points. Infinite distances (label
 * missing on one side) are not drawn but counted above the column ("∞ 2"); NaN (absent from both) is left out.
 */
import type { EvaluationReport } from './cohort';
import { percentileOfSorted } from './percentile';

type PanelMetric = 'dice' | 'nsd' | 'hd95Mm' | 'assdMm';

const PANELS: { metric: PanelMetric; title: (tolMm: number) => string; unit?: string; fixed?: [number, number] }[] = [
  { metric: 'dice', title: () => 'Dice', fixed: [0, 1] },
  { metric: 'nsd', title: (t) => `Normalised surface Dice (τ = ${t} mm)`, fixed: [0, 1] },
  { metric: 'hd95Mm', title: () => 'HD95 (mm)', unit: 'mm' },
  { metric: 'assdMm', title: () => 'ASSD (mm)', unit: 'mm' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r2 = (v: number) => Math.round(v * 100) / 100;

/** Round numbers for an axis from 0 to at least `max`. */
function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Deterministic jitter in [−1, 1] from a case name (FNV-1a). */
function jitter(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return (h / 0xffffffff) * 2 - 1;
}

/** Render the plot. `labelNames` maps label values to names for the x axis (optional). */
export function renderDistributionSvg(report: EvaluationReport, labelNames: Record<number, string> = {}): string {
  const labels = report.labels;
  const col = 34;
  const left = 64;
  const right = 16;
  const panelH = 184;
  const plotTop = 30; // room for the panel title and the ∞ counts
  const longest = Math.max(1, ...labels.map((l) => (labelNames[l] ?? String(l)).length));
  const gap = 34 + Math.ceil(longest * 4.6);
  const top = 44;
  const width = Math.max(480, left + right + col * Math.max(1, labels.length));
  const height = top + PANELS.length * (panelH + gap) + 10;
  const nCases = report.cases.filter((c) => c.status === 'ok').length;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(`Per-label metrics — ${nCases} case${nCases === 1 ? '' : 's'}, ${labels.length} label${labels.length === 1 ? '' : 's'}`)}</text>`);
  PANELS.forEach((panel, p) => {
    const y0 = top + p * (panelH + gap);
    const values = labels.map((l) => report.rows.filter((r) => r.label === l).map((r) => ({ c: r.case, v: r[panel.metric] })));
    const finiteMax = Math.max(0, ...values.flat().map((x) => x.v).filter((v) => Number.isFinite(v)));
    const ticks = panel.fixed ? [0, 0.2, 0.4, 0.6, 0.8, 1] : niceTicks(finiteMax);
    const yMax = ticks[ticks.length - 1]!;
    const y = (v: number) => r2(y0 + plotTop + (panelH - plotTop) * (1 - v / yMax));
    out.push(`<text x="${left}" y="${y0 + 8}" font-size="12" font-weight="bold">${esc(panel.title(report.settings.toleranceMm))}</text>`);
    for (const t of ticks) {
      out.push(`<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/>`);
      out.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#444">${esc(String(t))}</text>`);
    }
    out.push(`<line x1="${left}" x2="${left}" y1="${y(yMax)}" y2="${y(0)}" stroke="#888"/>`);
    labels.forEach((l, n) => {
      const cx = left + col * n + col / 2;
      const all = values[n]!;
      const finite = all.filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
      const nInf = all.filter((x) => x.v === Infinity).length;
      if (finite.length) {
        const sorted = finite.map((x) => x.v);
        const q1 = percentileOfSorted(sorted, 25);
        const med = percentileOfSorted(sorted, 50);
        const q3 = percentileOfSorted(sorted, 75);
        const iqr = q3 - q1;
        const lo = sorted.find((v) => v >= q1 - 1.5 * iqr)!;
        const hi = [...sorted].reverse().find((v) => v <= q3 + 1.5 * iqr)!;
        const bw = col * 0.62;
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(hi)}" y2="${y(q3)}" stroke="#555"/><line x1="${cx}" x2="${cx}" y1="${y(q1)}" y2="${y(lo)}" stroke="#555"/>`);
        out.push(`<line x1="${r2(cx - bw / 4)}" x2="${r2(cx + bw / 4)}" y1="${y(hi)}" y2="${y(hi)}" stroke="#555"/><line x1="${r2(cx - bw / 4)}" x2="${r2(cx + bw / 4)}" y1="${y(lo)}" y2="${y(lo)}" stroke="#555"/>`);
        out.push(`<rect x="${r2(cx - bw / 2)}" y="${y(q3)}" width="${r2(bw)}" height="${r2(Math.max(0.5, y(q1) - y(q3)))}" fill="#cfe0f3" stroke="#3a6ea5"/>`);
        out.push(`<line x1="${r2(cx - bw / 2)}" x2="${r2(cx + bw / 2)}" y1="${y(med)}" y2="${y(med)}" stroke="#1c3f66" stroke-width="2"/>`);
        for (const x of finite)
          out.push(`<circle cx="${r2(cx + jitter(x.c) * col * 0.3)}" cy="${y(x.v)}" r="2.3" fill="#d9534f" fill-opacity="0.7"><title>${esc(`${x.c}: ${x.v}`)}</title></circle>`);
      }
      if (nInf) out.push(`<text x="${cx}" y="${y(yMax) - 4}" text-anchor="middle" fill="#b00" font-size="10">∞ ${nInf}</text>`);
      const name = labelNames[l] ?? String(l);
      out.push(`<text x="${cx}" y="${y(0) + 12}" text-anchor="end" transform="rotate(-45 ${cx} ${y(0) + 12})" fill="#222" font-size="10">${esc(name)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
