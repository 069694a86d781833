import crypto from 'node:crypto';
import os from 'node:os';
import type { WorkerInfo } from './queue.js';

/** This process as a training worker: an id unique across restarts and machines, and what it runs. */
export function describeThisWorker(concurrency: number): WorkerInfo {
  const host = os.hostname();
  return { id: `${host}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`, host, pid: process.pid, concurrency, startedAt: new Date().toISOString() };
}
