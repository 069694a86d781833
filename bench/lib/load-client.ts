/**
 * The realistic mode's load generator: a Node fetch (undici) client, as a webhook sender written in Node
 * would be, in its own process so that its event loop is neither the server's nor the orchestrator's.
 *
 * Lines [0, pacedCount) of the bodies file go out open loop at `rate` per second (each when it is due,
 * whatever the answers do). Latency counts from the moment `fetch` is called; the client's own lateness
 * (due → called: its event loop or its share of a busy CPU) is reported beside it, and latency from the due
 * time too. Once
 * every paced answer is in, the server's /metrics is scraped (the boundary between the two phases of the
 * server's histogram), then the next `floodCount` lines go out as fast as `senders` concurrent senders go
 * (closed loop, latency from send). Latency is what the client sees: connect, send, server, read.
 *
 * Runs as `node --import tsx bench/lib/load-client.ts '<json LoadClientConfig>'`; prints one JSON line.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { percentile, round } from './util.js';

export interface LoadClientConfig {
  url: string;
  bodiesFile: string;
  pacedCount: number;
  rate: number;
  floodCount: number;
  senders: number;
  /** scraped between the phases; its text is returned as `metricsBetween` */
  metricsUrl?: string;
}

export interface Quantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  sent: number;
  ok2xx: number;
  statuses: Record<string, number>;
  /** requests that failed without an HTTP answer (connection errors) */
  errors: number;
  /** answers slower than 1 s: Label Studio gives up on a webhook after 1 s and does not retry */
  over1s: number;
  /** wall clock (ms since the epoch), for lining the phase up with server-side timestamps */
  startedAt: number;
  endedAt: number;
  durationS: number;
  eventsPerSec: number;
  /** fetch called → answer read */
  latencyMs: Quantiles;
  /** paced only: the client's own lateness in sending (due → fetch called) */
  scheduleLagMs?: Quantiles;
  /** paced only: due → answer read (includes the client's lateness) */
  latencyFromDueMs?: Quantiles;
  jobIds: string[];
}

export interface LoadClientResult {
  paced: PhaseResult;
  metricsBetween: string | null;
  flood: PhaseResult | null;
}

const quantiles = (xs: number[]): Quantiles => ({
  p50: round(percentile(xs, 0.5), 3),
  p90: round(percentile(xs, 0.9), 3),
  p99: round(percentile(xs, 0.99), 3),
  max: round(xs.length ? Math.max(...xs) : NaN, 3),
});

const epochMs = (t: number) => Math.round(performance.timeOrigin + t);

class Phase {
  readonly latencies: number[] = [];
  readonly fromDue: number[] = [];
  readonly statuses: Record<string, number> = {};
  readonly jobIds = new Set<string>();
  errors = 0;
  sent = 0;
  readonly t0 = performance.now();

  constructor(private readonly url: string) {}

  /** Sends one body; `due` (paced) also records the latency from when it was due. */
  async send(body: string, due?: number): Promise<void> {
    this.sent++;
    const start = performance.now();
    try {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      const end = performance.now();
      this.latencies.push(end - start);
      if (due !== undefined) this.fromDue.push(end - due);
      this.statuses[res.status] = (this.statuses[res.status] ?? 0) + 1;
      const job = /"job":"([^"]+)"/.exec(text)?.[1];
      if (job) this.jobIds.add(job);
    } catch {
      this.errors++;
    }
  }

  result(extra: Partial<PhaseResult> = {}): PhaseResult {
    const t1 = performance.now();
    const ok2xx = Object.entries(this.statuses).reduce((s, [code, n]) => s + (code.startsWith('2') ? n : 0), 0);
    return {
      sent: this.sent,
      ok2xx,
      statuses: this.statuses,
      errors: this.errors,
      over1s: this.latencies.filter((l) => l > 1000).length,
      startedAt: epochMs(this.t0),
      endedAt: epochMs(t1),
      durationS: round((t1 - this.t0) / 1000, 2),
      eventsPerSec: round(this.sent / ((t1 - this.t0) / 1000), 1),
      latencyMs: quantiles(this.latencies),
      jobIds: [...this.jobIds],
      ...extra,
    };
  }
}

async function paced(url: string, bodies: string[], rate: number): Promise<PhaseResult> {
  const phase = new Phase(url);
  const lag: number[] = [];
  const inflight: Promise<void>[] = [];
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything due goes out now (timers fire late); nothing is skipped.
      while (i < bodies.length && start + i * interval <= now) {
        const due = start + i * interval;
        lag.push(performance.now() - due);
        inflight.push(phase.send(bodies[i]!, due));
        i++;
      }
      if (i >= bodies.length) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(inflight);
  return phase.result({ scheduleLagMs: quantiles(lag), latencyFromDueMs: quantiles(phase.fromDue) });
}

async function flood(url: string, bodies: string[], senders: number): Promise<PhaseResult> {
  const phase = new Phase(url);
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < bodies.length) await phase.send(bodies[next++]!);
    }),
  );
  return phase.result();
}

async function main(c: LoadClientConfig): Promise<LoadClientResult> {
  const lines = fs.readFileSync(c.bodiesFile, 'utf8').split('\n').filter(Boolean);
  const target = new URL('/webhook', c.url).href;
  const pacedResult = await paced(target, lines.slice(0, c.pacedCount), c.rate);
  const metricsBetween = c.metricsUrl ? await (await fetch(c.metricsUrl)).text() : null;
  const floodResult = c.floodCount > 0 ? await flood(target, lines.slice(c.pacedCount, c.pacedCount + c.floodCount), c.senders) : null;
  return { paced: pacedResult, metricsBetween, flood: floodResult };
}

const result = await main(JSON.parse(process.argv[2]!) as LoadClientConfig);
process.stdout.write(JSON.stringify(result) + '\n');
