/**
 * Open-loop paced load generator (wrk cannot pace and wrk2 is not packaged in Debian): sends request
 * i at t0 + i/rate over a few keep-alive connections, whatever the server's answers do. Latency is
 * measured two ways: from the moment the request was *due* (includes any queueing when the server or
 * the client falls behind, like wrk2's corrected latency) and from the moment it was written.
 * The schedule lag (due → written) is reported too, so the generator's own accuracy is visible.
 *
 * Runs as its own process: `node --import tsx bench/lib/paced-client.ts '<json PacedConfig>'`,
 * prints one JSON line (PacedResult) on stdout.
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile, round } from './util.js';

export interface PacedConfig {
  url: string;
  path: string;
  bodiesFile: string;
  start: number;
  count: number;
  rate: number;
  connections: number;
}

export interface PacedResult {
  sent: number;
  completed: number;
  ok2xx: number;
  statuses: Record<string, number>;
  errors: number;
  durationS: number;
  achievedRate: number;
  latencyFromDueMs: { p50: number; p90: number; p99: number; max: number };
  latencyFromSendMs: { p50: number; p90: number; p99: number; max: number };
  scheduleLagMs: { p50: number; p99: number; max: number };
  jobIds: string[];
}

async function main(c: PacedConfig): Promise<PacedResult> {
  const lines = fs.readFileSync(c.bodiesFile, 'utf8').split('\n').filter(Boolean);
  const bodies = Array.from({ length: c.count }, (_, i) => Buffer.from(lines[(c.start + i) % lines.length]!));
  const target = new URL(c.path, c.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: c.connections });

  const fromDue: number[] = [];
  const fromSend: number[] = [];
  const lag: number[] = [];
  const statuses: Record<string, number> = {};
  const jobs = new Set<string>();
  let completed = 0;
  let errors = 0;

  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const body = bodies[i]!;
      const req = http.request(
        { agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const end = performance.now();
            fromDue.push(end - due);
            fromSend.push(end - written);
            completed++;
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            const job = /"job":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1];
            if (job) jobs.add(job);
            resolve();
          });
        },
      );
      // "written" = when the agent hands the request to a socket (after any wait for a free connection).
      let written = performance.now();
      req.on('socket', () => (written = performance.now()));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
      lag.push(performance.now() - due);
    });

  const interval = 1000 / c.rate;
  const inflight: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Send everything that is due (timers fire ~1 ms late; never skip, never bunch beyond what's due).
      while (i < c.count && t0 + i * interval <= now) {
        inflight.push(send(i, t0 + i * interval));
        i++;
      }
      if (i >= c.count) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(inflight);
  const durationS = (performance.now() - t0) / 1000;
  agent.destroy();
  const q = (xs: number[]) => ({ p50: round(percentile(xs, 0.5), 3), p90: round(percentile(xs, 0.9), 3), p99: round(percentile(xs, 0.99), 3), max: round(Math.max(...xs), 3) });
  const ok2xx = Object.entries(statuses).reduce((s, [code, n]) => s + (code.startsWith('2') ? n : 0), 0);
  return {
    sent: c.count,
    completed,
    ok2xx,
    statuses,
    errors,
    durationS: round(durationS, 2),
    achievedRate: round(completed / durationS, 1),
    latencyFromDueMs: q(fromDue),
    latencyFromSendMs: q(fromSend),
    scheduleLagMs: { p50: round(percentile(lag, 0.5), 3), p99: round(percentile(lag, 0.99), 3), max: round(Math.max(...lag), 3) },
    jobIds: [...jobs],
  };
}

const result = await main(JSON.parse(process.argv[2]!) as PacedConfig);
process.stdout.write(JSON.stringify(result) + '\n');
