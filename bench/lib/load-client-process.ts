/** Runs bench/lib/load-client.ts in its own process and measures the CPU around it. */
import { spawn } from 'node:child_process';
import type { LoadClientConfig, LoadClientResult } from './load-client.js';
import { REPO_ROOT, startCpuMeter, type CpuDuring } from './util.js';

export type { LoadClientConfig, LoadClientResult };

export async function runLoadClient(config: LoadClientConfig, serverPids: number[]): Promise<LoadClientResult & { cpuDuring: CpuDuring }> {
  const meter = startCpuMeter(serverPids);
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/load-client.ts', JSON.stringify(config)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const cpuDuring = meter();
  const line = stdout.trim().split('\n').pop();
  if (code !== 0 || !line) throw new Error(`load client failed (exit ${code}):\n${stderr}`);
  return { ...(JSON.parse(line) as LoadClientResult), cpuDuring };
}
