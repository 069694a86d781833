/**
 * Lowers the scheduling priority of the calling thread only. On Linux every thread is a task with its own
 * nice value, named by `/proc/thread-self`; `os.setPriority` with that task id leaves the rest of the
 * process (the API's event loop) alone. Elsewhere it does nothing and returns false.
 */
import fs from 'node:fs';
import os from 'node:os';

export function lowerThreadPriority(nice: number): boolean {
  if (nice <= 0) return false;
  try {
    const taskId = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(taskId) || taskId <= 0) return false;
    os.setPriority(taskId, nice);
    return os.getPriority(taskId) === nice;
  } catch {
    return false;
  }
}
