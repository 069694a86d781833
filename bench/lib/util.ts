/** Small helpers shared by the bench scripts: machine facts, tables, percentiles, result files, HTTP. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the numbers were measured on; every result file carries it. */
export function machineInfo(): Record<string, unknown> {
  const cpuinfo = safeRead('/proc/cpuinfo');
  return {
    nproc: Number(tryExec('nproc', []) ?? os.availableParallelism()),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memTotalGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    wrk: tryExec('wrk', ['-v'])?.split('\n')[0]?.trim() ?? null,
  };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tryExec(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    // `wrk -v` prints its version and exits 1; keep what it printed.
    const out = (err as { stdout?: string }).stdout;
    return out ? out.trim() : undefined;
  }
}

/** VmRSS / VmHWM of a process in MiB, from /proc (Linux only). */
export function processMemory(pid: number): { rssMiB: number; peakRssMiB: number } | null {
  const status = safeRead(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
  if (!status) return null;
  return { rssMiB: round(kb('VmRSS') / 1024, 1), peakRssMiB: round(kb('VmHWM') / 1024, 1) };
}

export function round(n: number, digits = 2): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Nearest-rank percentile of an unsorted sample (q in 0..1). */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function printTable(title: string, headers: string[], rows: Array<Array<string | number | null | undefined>>): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '–' : typeof c === 'number' ? fmt(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (cols: string[]) => '| ' + cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of cells) console.log(line(r));
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Math.abs(n) >= 100 ? n.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(round(n, 2));
}

export function writeResult(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** JSON request against a server under test (setup, stats, jobs); not used for load. */
export async function httpJson<T = any>(url: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics); keep the text
  }
  return { status: res.status, body: body as T };
}

/**
 * Fails loudly on a non-2xx answer, naming the request (bench set-up must not silently go wrong).
 * A 503 (e.g. the shared store still connecting right after start) is retried for up to 10 s.
 */
export async function mustJson<T = any>(url: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { status, body } = await httpJson<T>(url, init);
    if (status >= 200 && status < 300) return body;
    if (status === 503 && Date.now() < deadline) {
      await sleep(200);
      continue;
    }
    throw new Error(`${init.method ?? (init.body ? 'POST' : 'GET')} ${url} → ${status}: ${JSON.stringify(body).slice(0, 500)}`);
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function cpuJiffies(): { busy: number; total: number } {
  const fields = safeRead('/proc/stat').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, n) => s + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** CPU time (user + system, all threads) a process has used, in the same ticks as /proc/stat. */
function processTicks(pid: number): number {
  const stat = safeRead(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0); // utime (#14) + stime (#15)
}

/**
 * Share of the machine's CPU (all cores) busy over `ms`, from /proc/stat, and the part of it used by
 * `ownPids` (the server under test, e.g. still finishing trainings), so that foreign load shows.
 */
export async function cpuBusy(ms = 500, ownPids: number[] = []): Promise<{ total: number; own: number }> {
  const a = cpuJiffies();
  const ownA = ownPids.reduce((s, p) => s + processTicks(p), 0);
  await sleep(ms);
  const b = cpuJiffies();
  const ownB = ownPids.reduce((s, p) => s + processTicks(p), 0);
  const span = b.total - a.total;
  return span > 0 ? { total: round((b.busy - a.busy) / span, 3), own: round((ownB - ownA) / span, 3) } : { total: NaN, own: NaN };
}

export interface CpuBefore {
  /** share of all cores busy just before the run */
  total: number;
  /** the part used by the server under test */
  own: number;
}

/**
 * This machine is shared (other sessions run test suites): before a measured run, wait up to
 * `maxWaitMs` for the CPU not used by our own server to be mostly idle; returns the last sample.
 */
export async function waitForQuiet(ownPids: number[] = [], maxWaitMs = 8_000, threshold = 0.15): Promise<CpuBefore> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await cpuBusy(500, ownPids);
  while (busy.total - busy.own > threshold && Date.now() < deadline) busy = await cpuBusy(500, ownPids);
  if (busy.total - busy.own > threshold) console.warn(`  ! other processes keep ${Math.round((busy.total - busy.own) * 100)}% of the CPU busy before this run; numbers may be low`);
  return busy;
}


/** Shares of the whole machine's CPU capacity used during a run, by whom. */
export interface CpuDuring {
  total: number;
  /** the server under test (all its threads, trainings included) */
  server: number;
  /** this script and the load generators it started and reaped (wrk, the paced client) */
  loadgen: number;
  /** everything else on the machine: noise in the numbers */
  other: number;
}

function selfTicks(): number {
  const stat = safeRead('/proc/self/stat');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i] ?? 0), 0); // utime stime cutime cstime
}

/** Starts measuring; the returned function stops and reports. Call it after the load generator was reaped. */
export function startCpuMeter(serverPids: number[]): () => CpuDuring {
  const a = { ...cpuJiffies(), server: serverPids.reduce((s, p) => s + processTicks(p), 0), self: selfTicks() };
  return () => {
    const b = { ...cpuJiffies(), server: serverPids.reduce((s, p) => s + processTicks(p), 0), self: selfTicks() };
    const span = b.total - a.total || 1;
    const total = (b.busy - a.busy) / span;
    const server = (b.server - a.server) / span;
    const loadgen = (b.self - a.self) / span;
    return { total: round(total, 3), server: round(server, 3), loadgen: round(loadgen, 3), other: round(Math.max(0, total - server - loadgen), 3) };
  };
}

/** "other load before / during" for the tables. */
export const fmtOther = (before: CpuBefore | null | undefined, during: CpuDuring | null | undefined) =>
  `${before ? Math.round(Math.max(0, before.total - before.own) * 100) + '%' : '–'} / ${during ? Math.round(during.other * 100) + '%' : '–'}`;

/** A share of the whole machine as "% of one core" (200% = both cores of a 2-core box). */
export const pctOfCore = (share: number) => `${Math.round(share * os.availableParallelism() * 100)}%`;

/** pino warn/error/fatal lines (level ≥ 40) of a server log, counted by message (with the first stack frame). */
export function errorLines(logFile: string): string[] {
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!/"level":(40|50|60)/.test(line)) continue;
    let key = line.slice(0, 300);
    try {
      const j = JSON.parse(line) as { msg?: string; err?: string | { message?: string; stack?: string }; status?: number };
      const err = typeof j.err === 'string' ? j.err : j.err ? `${j.err.message} (${j.err.stack?.split('\n')[1]?.trim() ?? ''})` : undefined;
      key = err ? `${j.msg}: ${err}` : `${j.msg} ${j.status ?? ''}`;
    } catch {
      // not JSON: keep the raw line
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`);
}
