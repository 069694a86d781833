/**
 * Real child processes for distributed tests: `spawnCli(['serve'], env)` / `spawnCli(['worker'], env)` run
 * `node --import tsx src/cli/index.ts <cmd>` from the project root with a minimal environment (PATH, HOME,
 * TMPDIR plus test defaults and `env`: nothing leaks in from the test runner's own environment).
 *
 *   const api = await startApiProcess({ REDIS_URL: url, MODEL_DIR: dir, TRAIN_EMBEDDED_WORKER: 'false' });
 *   const worker = await startWorkerProcess({ REDIS_URL: url, MODEL_DIR: otherDir });
 *   ... api.url ... await worker.waitForLog('training finished') ...
 *   await worker.stop('SIGTERM');           // resolves with { code, signal }
 *   await killAllProcesses();                // in afterAll/afterEach: SIGKILL whatever is still running
 *
 * Logs are pino JSON lines: `logs()` parses them, `output()` is the raw stdout+stderr, and on a failed
 * wait the error message carries the output's tail so a broken start is visible in the test report.
 * `startRedisServer()` starts a throwaway redis-server on a free port (no persistence): the test run's own
 * (test/support/redis-global-setup.ts) and the ones outage tests kill.
 * Set TEST_PROCESS_LOG_DIR to keep each child's full output in `<dir>/<name>-<pid>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };
export type LogMatcher = string | RegExp | ((line: LogLine) => boolean);

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** stdout and stderr as received, interleaved. */
  output(): string;
  /** Every stdout line that parsed as JSON (pino logs). */
  logs(): LogLine[];
  /** Resolves with the first log line (already seen or future) that matches; rejects on exit or timeout. */
  waitForLog(match: LogMatcher, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited (immediately if it already has). */
  waitForExit(timeoutMs?: number): Promise<ExitInfo>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  readonly exit: ExitInfo | undefined;
}

export interface ApiProcess extends CliProcess {
  /** `http://127.0.0.1:<port>` from the "listening" log line. */
  url: string;
}

const running = new Set<CliProcess>();

const DEFAULT_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  MODEL: 'keyword-choices',
};

export function spawnCli(args: ['serve' | 'worker', ...string[]], env: Record<string, string>, name: string = args[0]): CliProcess {
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) base[key] = process.env[key]!;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...base, ...DEFAULT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let pending = '';
  const lines: LogLine[] = [];
  const watchers = new Set<() => void>();
  let exit: ExitInfo | undefined;
  const notify = () => {
    for (const w of [...watchers]) w();
  };

  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const parsed = JSON.parse(line) as unknown;
        if (parsed && typeof parsed === 'object') lines.push(parsed as LogLine);
      } catch {
        // not a log line
      }
    }
    notify();
  });
  child.stderr!.on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Debugging aid: TEST_PROCESS_LOG_DIR=/tmp/x keeps every child's output after the run.
      if (process.env.TEST_PROCESS_LOG_DIR) {
        fs.mkdirSync(process.env.TEST_PROCESS_LOG_DIR, { recursive: true });
        fs.writeFileSync(path.join(process.env.TEST_PROCESS_LOG_DIR, `${name}-${child.pid}.log`), out);
      }
      running.delete(proc);
      resolve(exit);
      notify();
    });
  });

  const tail = () => out.split('\n').slice(-40).join('\n');

  const proc: CliProcess = {
    child,
    pid: child.pid!,
    name,
    output: () => out,
    logs: () => lines,
    get exit() {
      return exit;
    },
    waitForLog(match, timeoutMs = 20_000) {
      const test = toPredicate(match);
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = lines.find(test);
          if (found) return done(() => resolve(found));
          if (exit) {
            return done(() =>
              reject(new Error(`${name} (pid ${proc.pid}) exited (${JSON.stringify(exit)}) before logging ${String(match)}; output:\n${tail()}`)),
            );
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${name} (pid ${proc.pid}) did not log ${String(match)} within ${timeoutMs} ms; output:\n${tail()}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          watchers.delete(check);
          settle();
        };
        watchers.add(check);
        check();
      });
    },
    waitForExit(timeoutMs = 20_000) {
      if (exit) return Promise.resolve(exit);
      return new Promise<ExitInfo>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} (pid ${proc.pid}) still running after ${timeoutMs} ms; output:\n${tail()}`)), timeoutMs);
        void exited.then((info) => {
          clearTimeout(timer);
          resolve(info);
        });
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (exit) return exit;
      child.kill(signal);
      return proc.waitForExit(timeoutMs);
    },
  };
  running.add(proc);
  return proc;
}

/** Starts `serve` and waits for its "listening" log line (so LOG_LEVEL must be info or lower). */
export async function startApiProcess(env: Record<string, string>, name = 'api'): Promise<ApiProcess> {
  const proc = spawnCli(['serve'], env, name);
  try {
    const line = await proc.waitForLog('ls-ml-backend listening', 30_000);
    return Object.assign(proc, { url: String(line.url) });
  } catch (err) {
    await proc.stop('SIGKILL').catch(() => {});
    throw err;
  }
}

/** Starts `worker` and waits until it consumes jobs. */
export async function startWorkerProcess(env: Record<string, string>, name = 'worker'): Promise<CliProcess> {
  const proc = spawnCli(['worker'], env, name);
  try {
    await proc.waitForLog('training worker started', 30_000);
    return proc;
  } catch (err) {
    await proc.stop('SIGKILL').catch(() => {});
    throw err;
  }
}

/** SIGKILLs every spawned process still running and waits for them (afterEach/afterAll). */
export async function killAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL', 10_000).catch(() => undefined)));
}

/** Polls `GET <url>/health` until it answers 200. */
export async function waitForHealth(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      await res.text();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`${url}/health not ready within ${timeoutMs} ms (${last})`);
}

/** A TCP port nothing listens on right now (the OS picks it; tiny reuse race, fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerProcess {
  port: number;
  url: string;
  /** SIGKILLs the server (simulates an outage; no persistence, so the data is gone too). */
  kill(): Promise<void>;
}

/**
 * The server runs under a small shell that holds our end of a pipe: when this process closes it (`kill()`)
 * or dies without cleaning up, the shell SIGKILLs the server and removes its temp dir, so no test run
 * leaves a redis-server behind. The shell's own output goes nowhere (a write to the dead parent's pipe would
 * end it before the cleanup), and the watcher is stopped once the server is gone, so its kill can never
 * reach a recycled pid.
 */
const REDIS_GUARD = `exec 3<&0
dir=$(mktemp -d "\${TMPDIR:-/tmp}/ls-ml-test-redis-XXXXXX") || exit 1
redis-server "$@" --dir "$dir" </dev/null 3<&- &
pid=$!
exec >/dev/null 2>&1
(read -r line <&3; kill -9 "$pid" 2>/dev/null) </dev/null &
watcher=$!
wait "$pid"
kill "$watcher" 2>/dev/null
rm -rf "$dir"`;

/**
 * `redis-server --port <port> --bind 127.0.0.1 --save "" --appendonly no` in a temp dir of its own, waiting
 * until it accepts connections. Without a port it picks a free one (retrying if another process takes it first).
 */
export async function startRedisServer(port?: number): Promise<RedisServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisServerOn(port ?? (await freePort()));
    } catch (err) {
      if (port !== undefined || attempt === 3) throw err;
    }
  }
}

async function startRedisServerOn(p: number): Promise<RedisServerProcess> {
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('sh', ['-c', REDIS_GUARD, 'redis-guard', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    child.stdin!.end();
    await exited;
  };
  // Its own log line, not a successful connect: a connect could reach another process that took the port.
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill();
      throw new Error(`redis-server on port ${p} did not start: ${out}`);
    }
    await sleep(20);
  }
  return { port: p, url: `redis://127.0.0.1:${p}`, kill };
}

function toPredicate(match: LogMatcher): (line: LogLine) => boolean {
  if (typeof match === 'function') return match;
  if (typeof match === 'string') return (line) => line.msg === match;
  return (line) => typeof line.msg === 'string' && match.test(line.msg);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
