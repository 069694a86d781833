/** Markdown tables for the console (and for pasting into README.md). */

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => '| ' + header.map((_, i) => (cells[i] ?? '').padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export const score = (v: number | undefined | null) => (v === undefined || v === null ? '' : v.toFixed(4));
export const seconds = (ms: number | undefined) => (ms === undefined ? '' : (ms / 1000).toFixed(1));
/** Difference in points (1 point = 0.01), signed. */
export const points = (ours: number, ref: number | undefined) => (ref === undefined ? '' : `${ours >= ref ? '+' : ''}${((ours - ref) * 100).toFixed(2)}`);
