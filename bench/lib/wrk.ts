/** Runs wrk with bench/lib/rotate-bodies.lua and returns its numbers (from the script's JSON line). */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { round, startCpuMeter, waitForQuiet, type CpuBefore, type CpuDuring } from './util.js';

const LUA = fileURLToPath(new URL('./rotate-bodies.lua', import.meta.url));

/** Exits with an install hint when wrk is missing; the benches need it. */
export function requireWrk(): void {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    console.error(
      'wrk is not installed; the benches drive load with it.\n' +
        '  Debian/Ubuntu:  apt-get update && apt-get install -y wrk\n' +
        '  macOS:          brew install wrk\n' +
        'then run the bench again.',
    );
    process.exit(2);
  }
}

export interface WrkOptions {
  url: string;
  path: string;
  bodiesFile: string;
  /** first line of the file to send (0-based) */
  start?: number;
  threads: number;
  connections: number;
  durationS: number;
  trackJobs?: boolean;
  /** wait for an idle CPU first (default); off when the caller already did, e.g. to start trainings with the load */
  waitQuiet?: boolean;
  /** the server under test: its own CPU use before the run is not "other load" */
  serverPid?: number;
}

export interface WrkResult {
  durationS: number;
  requests: number;
  requestsPerSec: number;
  ok2xx: number;
  non2xx: number;
  statuses: Record<string, number>;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMs: { mean: number; p50: number; p75: number; p90: number; p99: number; p999: number; max: number };
  /** requests generated (written) per thread; in-flight ones at the end reach the server but get no response counted */
  sentPerThread: number[];
  sent: number;
  jobIds: string[];
  command: string;
  /** share of the machine's CPU busy just before the run (other work skews the numbers) */
  cpuBusyBefore: CpuBefore | null;
  cpuDuring: CpuDuring;
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--latency',
    '--timeout',
    '10s',
    '-s',
    LUA,
    o.url,
    '--',
    o.bodiesFile,
    o.path,
    String(o.start ?? 0),
    String(o.threads),
    o.trackJobs ? 'jobs' : '',
  ];
  const cpuBusyBefore = o.waitQuiet === false ? null : await waitForQuiet(o.serverPid ? [o.serverPid] : []);
  const meter = startCpuMeter(o.serverPid ? [o.serverPid] : []);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  const cpuDuring = meter();
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${stderr}\n${stdout}`);
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as {
    durationUs: number;
    requests: number;
    errors: WrkResult['errors'];
    latencyUs: Record<'mean' | 'max' | 'p50' | 'p75' | 'p90' | 'p99' | 'p999', number>;
    threads: Array<{ tid: number; sent: number; ok: number; bad: number; statuses: Record<string, number>; jobs: string[] }>;
  };
  const threads = [...j.threads].sort((a, b) => a.tid - b.tid);
  const statuses: Record<string, number> = {};
  for (const t of threads) for (const [s, n] of Object.entries(t.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  const ms = (us: number) => round(us / 1000, 3);
  const durationS = j.durationUs / 1e6;
  return {
    durationS: round(durationS, 2),
    requests: j.requests,
    requestsPerSec: round(j.requests / durationS, 1),
    ok2xx: threads.reduce((s, t) => s + t.ok, 0),
    non2xx: threads.reduce((s, t) => s + t.bad, 0),
    statuses,
    errors: j.errors,
    latencyMs: {
      mean: ms(j.latencyUs.mean),
      p50: ms(j.latencyUs.p50),
      p75: ms(j.latencyUs.p75),
      p90: ms(j.latencyUs.p90),
      p99: ms(j.latencyUs.p99),
      p999: ms(j.latencyUs.p999),
      max: ms(j.latencyUs.max),
    },
    sentPerThread: threads.map((t) => t.sent),
    sent: threads.reduce((s, t) => s + t.sent, 0),
    jobIds: [...new Set(threads.flatMap((t) => t.jobs))],
    cpuBusyBefore,
    cpuDuring,
    command: `wrk ${args.map((a) => (a === '' ? "''" : a)).join(' ')}`,
  };
}

/** The file lines (0-based) a run sent, mirroring the Lua rotation. */
export function linesSent(r: Pick<WrkResult, 'sentPerThread'>, start: number, fileLines: number): Set<number> {
  const threads = r.sentPerThread.length;
  const seen = new Set<number>();
  r.sentPerThread.forEach((sent, tid) => {
    for (let k = 0; k < sent && seen.size < fileLines; k++) seen.add((start + tid + threads * k) % fileLines);
  });
  return seen;
}
