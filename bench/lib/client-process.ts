/**
 * Runs a load client script in its own process (its event loop must not be the orchestrating script's),
 * hands it its config as JSON, measures the CPU of the given server processes meanwhile, and parses the
 * last line it prints as its result.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT, startCpuMeter, type CpuDuring } from './util.js';

export async function runClientProcess<R>(script: string, config: unknown, serverPids: number[]): Promise<R & { cpuDuring: CpuDuring }> {
  const meter = startCpuMeter(serverPids);
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
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
  if (code !== 0 || !line) throw new Error(`${script} failed (exit ${code}):\n${stderr}`);
  return { ...(JSON.parse(line) as R), cpuDuring };
}
