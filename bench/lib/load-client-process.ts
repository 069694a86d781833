/** Runs bench/lib/load-client.ts in its own process and measures the CPU around it. */
import { runClientProcess } from './client-process.js';
import type { LoadClientConfig, LoadClientResult } from './load-client.js';
import type { CpuDuring } from './util.js';

export type { LoadClientConfig, LoadClientResult };

export function runLoadClient(config: LoadClientConfig, serverPids: number[]): Promise<LoadClientResult & { cpuDuring: CpuDuring }> {
  return runClientProcess<LoadClientResult>('bench/lib/load-client.ts', config, serverPids);
}
