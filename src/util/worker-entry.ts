/**
 * Where to start a worker thread. Compiled code (dist/) starts the `.js` file directly; when running from
 * TypeScript sources (tsx, vitest) the thread starts a tiny `.mjs` shim that registers tsx first, because
 * worker threads do not inherit the parent's TypeScript loader.
 */
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  filename: URL;
  workerData: Record<string, unknown>;
}

/** `moduleUrl` is the worker module's URL as seen from the caller, written with a `.js` extension. */
export function workerEntry(moduleUrl: URL, workerData: Record<string, unknown>): WorkerEntry {
  const runningFromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  if (!runningFromSource) return { filename: moduleUrl, workerData };
  const tsUrl = new URL(moduleUrl.href.replace(/\.js$/, '.ts'));
  return { filename: new URL('./tsx-thread-shim.mjs', import.meta.url), workerData: { ...workerData, __tsEntry: tsUrl.href } };
}
