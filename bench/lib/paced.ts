/** Runs bench/lib/paced-client.ts in its own process (its event loop must not be this script's). */
import { runClientProcess } from './client-process.js';
import type { PacedConfig, PacedResult } from './paced-client.js';
import { waitForQuiet, type CpuBefore, type CpuDuring } from './util.js';

export type { PacedConfig, PacedResult };

export async function runPaced(config: PacedConfig, serverPid?: number): Promise<PacedResult & { cpuBusyBefore: CpuBefore; cpuDuring: CpuDuring }> {
  const pids = serverPid ? [serverPid] : [];
  const cpuBusyBefore = await waitForQuiet(pids);
  return { ...(await runClientProcess<PacedResult>('bench/lib/paced-client.ts', config, pids)), cpuBusyBefore };
}
