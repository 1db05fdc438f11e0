import type { Comparison } from './bench.util.js';

const fmt = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** A ratio with three decimals, so a figure just under its target never reads as equal to it. */
const fmtRatio = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(3));

/** Whether the comparison meets its target (undefined when it has none). */
export function meets(c: Comparison): boolean | undefined {
  return c.target ? c.ratio >= c.target.ratio : undefined;
}

/**
 * The verdict of a targeted row: `pass`, or `**short**`, followed, when a ceiling row measured in
 * the same run (see {@link Comparison.ceilingOf}) misses the same target, by that row's ratio.
 */
export function verdict(c: Comparison, results: Comparison[]): string {
  const ok = meets(c);
  if (ok === undefined) return '';
  if (ok) return 'pass';
  const ceiling = results.find((r) => r.ceilingOf === `${c.workload} vs ${c.peer.label}` && r.group === c.group);
  if (!ceiling || !c.target || ceiling.ratio >= c.target.ratio) return '**short**';
  return `**short**; the ceiling (${ceiling.ours.label}) measured ${fmtRatio(ceiling.ratio)}x`;
}

/** The Markdown tables of BENCHMARKS.md, one per group. */
export function markdownTables(results: Comparison[]): string {
  const groups = [...new Set(results.map((r) => r.group))];
  return groups
    .map((group) => {
      const rows = results
        .filter((r) => r.group === group)
        .map((r) => {
          const ratio = r.lowerIsBetter ? `${fmtRatio(r.ratio)}x peer (lower is better)` : `${fmtRatio(r.ratio)}x`;
          return `| ${r.workload} | ${r.ours.label} | ${fmt(r.ours.median)} ${r.unit} | ${r.peer.label} | ${fmt(r.peer.median)} ${r.unit} | ${ratio} | ${r.target?.text ?? ''} | ${verdict(r, results)} |`;
        });
      return [
        `### ${group}`,
        '',
        '| workload | ours | median | peer | median | ours vs peer | target | verdict |',
        '|---|---|---:|---|---:|---:|---|---|',
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}

/** A horizontal bar chart of each targeted comparison's ratio divided by its target (1.0 = target met). */
export function svgChart(results: Comparison[]): string {
  const rows = results.filter((r) => r.target);
  const barH = 18;
  const gap = 6;
  const labelW = 680;
  const chartW = 360;
  const max = Math.max(2, ...rows.map((r) => r.ratio / r.target!.ratio));
  const height = 40 + rows.length * (barH + gap);
  const x1 = labelW + chartW / max;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * (barH + gap);
      const score = r.ratio / r.target!.ratio;
      const w = Math.max(1, (Math.min(score, max) / max) * chartW);
      const color = score >= 1 ? '#2f9e44' : '#e03131';
      return [
        `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end" font-size="11">${esc(`${r.workload} vs ${r.peer.label}`)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`,
        `<text x="${labelW + w + 4}" y="${y + 13}" font-size="11">${score.toFixed(2)}</text>`,
      ].join('');
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + chartW + 60}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">nestjs-backends: measured ratio / target ratio (1.0 = target met)</text>`,
    bars,
    `<line x1="${x1}" y1="24" x2="${x1}" y2="${height - 4}" stroke="#333" stroke-dasharray="4 3"/>`,
    `</svg>`,
  ].join('\n');
}

/** The short table of the README: every comparison that has a target. */
export function summaryTable(results: Comparison[]): string {
  const rows = results
    .filter((r) => r.target)
    .map(
      (r) => `| ${r.workload} | ${r.peer.label} | ${fmtRatio(r.ratio)}x | ${r.target!.text} | ${verdict(r, results)} |`,
    );
  return ['| workload | against | ours vs peer | target | verdict |', '|---|---|---:|---|---|', ...rows].join('\n');
}

/** Replaces what stands between `<!-- bench:start -->` and `<!-- bench:end -->` in `text`. */
export function replaceBetweenMarkers(text: string, content: string): string {
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j < i) return text;
  return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}
