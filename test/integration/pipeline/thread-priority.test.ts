/**
 * lowerThreadPriority changes the nice value of the calling thread only (Linux tasks), and training
 * threads run at TRAIN_NICE while the API's event loop keeps its priority. Read back from /proc, as the
 * kernel sees it.
 */
import fs from 'node:fs';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { lowerThreadPriority } from '../../../src/util/thread-priority.js';
import { trainFixtureProject } from '../protocol/helpers.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const linux = os.platform() === 'linux';

/** Nice value of every task (thread) of this process, by task id. */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const task of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    // Fields after the parenthesised name: state is field 3, nice is field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(task), Number(fields[19 - 3]));
  }
  return nices;
}

const ownTask = () => Number(fs.readlinkSync('/proc/thread-self').split('/').pop());

describe.runIf(linux)('thread priority (Linux)', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('training threads run at TRAIN_NICE; the thread answering HTTP keeps its priority', async () => {
    const before = threadNices();
    server = await startTestServer({ TRAIN_NICE: '7' });
    await trainFixtureProject(server.url); // the pool keeps its thread after the job
    const after = threadNices();
    const niced = [...after].filter(([task, nice]) => nice === 7 && !before.has(task));
    expect(niced.length).toBeGreaterThanOrEqual(1);
    // The test's own thread (which also runs the in-process server) is untouched.
    expect(after.get(ownTask())).toBe(before.get(ownTask()));
  });

  it('lowerThreadPriority lowers only the calling thread, and refuses 0', () => {
    expect(lowerThreadPriority(0)).toBe(false);
    const self = ownTask();
    const before = threadNices();
    const target = Math.min(19, (before.get(self) ?? 0) + 3);
    expect(lowerThreadPriority(target)).toBe(true);
    const after = threadNices();
    expect(after.get(self)).toBe(target);
    for (const [task, nice] of before) if (task !== self && after.has(task)) expect(after.get(task)).toBe(nice);
  });
});
