/** Runs bench/lib/paced-client.ts in its own process (its event loop must not be this script's). */
import { spawn } from 'node:child_process';
import type { PacedConfig, PacedResult } from './paced-client.js';
import { REPO_ROOT, startCpuMeter, waitForQuiet, type CpuBefore, type CpuDuring } from './util.js';

export type { PacedConfig, PacedResult };

export async function runPaced(config: PacedConfig, serverPid?: number): Promise<PacedResult & { cpuBusyBefore: CpuBefore; cpuDuring: CpuDuring }> {
  const cpuBusyBefore = await waitForQuiet(serverPid ? [serverPid] : []);
  const meter = startCpuMeter(serverPid ? [serverPid] : []);
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/paced-client.ts', JSON.stringify(config)], {
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
  if (code !== 0 || !line) throw new Error(`paced client failed (exit ${code}):\n${stderr}`);
  return { ...(JSON.parse(line) as PacedResult), cpuBusyBefore, cpuDuring };
}
