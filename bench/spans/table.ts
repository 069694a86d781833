/** Markdown tables for the console (the README's tables are pasted from this output). */
import type { SpanScores } from '../../models/span-tagger/lib/metrics.js';

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

/** "P / R / F1" to three decimals. */
export const prf = (s: SpanScores | undefined) => (s ? `${s.precision.toFixed(3)} / ${s.recall.toFixed(3)} / ${s.f1.toFixed(3)}` : '–');

export const thousands = (n: number) => Math.round(n).toLocaleString('en-US');
