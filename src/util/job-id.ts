/**
 * Training job ids, the same in both queue modes: `<project>.<n>`, n from one counter per store (SQLite or
 * Redis) that only grows, so a larger n is a newer request. Project ids never contain a dot.
 */
export function formatJobId(projectId: string, seq: number): string {
  return `${projectId}.${seq}`;
}

/** `"12.345"` → project "12", sequence 345; undefined for anything else. */
export function parseJobId(id: string): { projectId: string; seq: number } | undefined {
  const dot = id.lastIndexOf('.');
  const tail = id.slice(dot + 1);
  if (dot <= 0 || !/^\d+$/.test(tail)) return undefined;
  return { projectId: id.slice(0, dot), seq: Number(tail) };
}
