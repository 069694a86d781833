/**
 * Servers under test run as their own processes, so the load generator (wrk / the paced client), the
 * server and the orchestrating script never share an event loop. Output goes to a log file (not a pipe
 * this script would have to drain), which is also where a start-up failure is explained.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT, processMemory, sleep } from './util.js';

export interface RunningProcess {
  name: string;
  pid: number;
  url: string;
  logFile: string;
  memory(): { rssMiB: number; peakRssMiB: number } | null;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();
// Never leave a server behind if the script dies half-way (only the processes we started).
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The CLI's built entry: `bin` in package.json, or the older single-file CLI (benching an earlier commit). */
const SERVER_ENTRIES = ['dist/src/cli/index.js', 'dist/src/cli.js'];

function serverEntry(): string {
  const entry = SERVER_ENTRIES.find((e) => fs.existsSync(path.join(REPO_ROOT, e)));
  if (!entry) throw new Error(`${SERVER_ENTRIES[0]} is missing: run \`npm run build\` first`);
  return entry;
}

export interface ApiServerOptions {
  name: string;
  model: string;
  logLevel: string;
  modelDir: string;
  redisUrl?: string;
  /** more env (training policy, …) */
  env?: Record<string, string>;
}

/**
 * `node dist/src/cli/index.js serve`, exactly what `npm start` runs (the bench scripts build first), configured
 * only through the environment. BENCH_NODE_ARGS adds node flags for a look inside, e.g.
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` or `"--trace-gc"` (the output lands in the log).
 */
export async function startApiServer(o: ApiServerOptions): Promise<RunningProcess> {
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    MODEL_DIR: o.modelDir,
    LOG_LEVEL: o.logLevel,
    MODEL: o.model,
    ...o.env,
  };
  if (o.redisUrl) env.REDIS_URL = o.redisUrl;
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return startNode(o.name, [...nodeArgs, serverEntry(), 'serve'], env, port, path.join(o.modelDir, `${o.name}.log`));
}

/**
 * `node <cli> worker` (what `npm run worker` runs): trainings only, from the Redis queue. It has no HTTP
 * port, so it is ready when it logs that its worker started (needs LOG_LEVEL info or lower).
 */
export async function startWorker(o: Omit<ApiServerOptions, 'redisUrl'> & { redisUrl: string }): Promise<RunningProcess> {
  const env: Record<string, string> = { MODEL_DIR: o.modelDir, LOG_LEVEL: o.logLevel, MODEL: o.model, REDIS_URL: o.redisUrl, ...o.env };
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return startNode(o.name, [...nodeArgs, serverEntry(), 'worker'], env, undefined, path.join(o.modelDir, `${o.name}.log`));
}

export async function startMinimalExpress(logDir: string): Promise<RunningProcess> {
  const port = await freePort();
  return startNode('minimal-express', ['--import', 'tsx', 'bench/lib/minimal-express.ts'], { PORT: String(port), HOST: '127.0.0.1' }, port, path.join(logDir, 'minimal-express.log'));
}

/** Starts a node process; ready when it answers /health on `port`, or (no port) when it logs "training worker started". */
async function startNode(name: string, args: string[], env: Record<string, string>, port: number | undefined, logFile: string): Promise<RunningProcess> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'w');
  // Drop the caller's LOG_LEVEL/REDIS_URL/MODEL…: only what we pass configures the server.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|MODEL|MODEL_DIR|LOG_LEVEL|REDIS_URL|TRAIN_.*|WEBHOOK_SECRET|BASIC_AUTH_.*)$/.test(k)));
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  started.add(child);
  const url = port === undefined ? '' : `http://127.0.0.1:${port}`;
  const logTail = (lines = 15) => fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      started.delete(child);
      throw new Error(`${name} exited (code ${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail()}`);
    }
    if (port === undefined) {
      if (fs.readFileSync(logFile, 'utf8').includes('"msg":"training worker started"')) break;
    } else {
      try {
        const res = await fetch(`${url}/health`);
        await res.text();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within 60 s:\n${logTail()}`);
    }
    await sleep(100);
  }

  return {
    name,
    pid: child.pid!,
    url,
    logFile,
    memory: () => processMemory(child.pid!),
    logTail,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      started.delete(child);
    },
  };
}
