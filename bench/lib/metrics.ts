/**
 * The server's own view of latency: scrape `http_request_duration_seconds` from /metrics before and
 * after a run, diff the cumulative bucket counts of one route, and estimate quantiles from the diff the
 * way Prometheus' histogram_quantile does (linear inside the bucket). The buckets are coarse
 * (0.5, 1, 2.5, 5, 10 ms, …), so `fractionWithin(5 ms)` is the exact check for "p99 ≤ 5 ms".
 */
import { round } from './util.js';

export interface RouteHistogram {
  /** upper bound in seconds (Infinity for +Inf) → cumulative count, summed over method/status */
  buckets: Map<number, number>;
  count: number;
  sum: number;
}

export async function scrapeRoute(baseUrl: string, route: string): Promise<RouteHistogram> {
  return parseRoute(await (await fetch(`${baseUrl}/metrics`)).text(), route);
}

/** One route's histogram from a /metrics text scraped elsewhere (e.g. by the load client between phases). */
export function parseRoute(text: string, route: string): RouteHistogram {
  const h: RouteHistogram = { buckets: new Map(), count: 0, sum: 0 };
  const routeLabel = `route="${route}"`;
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds') || !line.includes(routeLabel)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('http_request_duration_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)![1]!;
      const bound = le === '+Inf' ? Infinity : Number(le);
      h.buckets.set(bound, (h.buckets.get(bound) ?? 0) + value);
    } else if (line.startsWith('http_request_duration_seconds_count')) h.count += value;
    else if (line.startsWith('http_request_duration_seconds_sum')) h.sum += value;
  }
  return h;
}

export function diff(after: RouteHistogram, before: RouteHistogram): RouteHistogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum };
}

/** histogram_quantile: seconds; NaN when empty; the highest finite bound when it falls in +Inf. */
export function quantile(h: RouteHistogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (!total) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const bound of bounds) {
    const count = h.buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + (bound - prevBound) * ((rank - prevCount) / Math.max(1, count - prevCount));
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** Share of requests that took at most `seconds` (must be a bucket bound to be exact). */
export function fractionWithin(h: RouteHistogram, seconds: number): number {
  const total = h.buckets.get(Infinity) ?? h.count;
  const n = h.buckets.get(seconds);
  return total && n !== undefined ? n / total : NaN;
}

export function summarize(h: RouteHistogram) {
  return {
    requests: h.count,
    meanMs: h.count ? round((h.sum / h.count) * 1000, 3) : NaN,
    p50Ms: round(quantile(h, 0.5) * 1000, 3),
    p99Ms: round(quantile(h, 0.99) * 1000, 3),
    within5ms: round(fractionWithin(h, 0.005), 5),
    within10ms: round(fractionWithin(h, 0.01), 5),
    buckets: Object.fromEntries([...h.buckets].sort((a, b) => a[0] - b[0]).map(([le, n]) => [le === Infinity ? '+Inf' : String(le), n])),
  };
}
