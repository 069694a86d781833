/** `LOG_FORMAT=pretty` in a real server process: what a developer sees in the terminal. */
import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { killAllProcesses, spawnCli } from '../support/processes.js';
import { makeTempDir } from '../support/server.js';

const dir = makeTempDir('ls-ml-pretty-');
afterAll(async () => {
  await killAllProcesses();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('a server started with LOG_FORMAT=pretty logs readable lines, none of them JSON', async () => {
  const proc = spawnCli(['serve'], { LOG_FORMAT: 'pretty', MODEL_DIR: dir });
  const deadline = Date.now() + 30_000;
  while (!proc.output().includes('ls-ml-backend listening') && Date.now() < deadline && proc.exit === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await proc.stop('SIGTERM');
  const lines = proc.output().split('\n').filter((l) => l.trim() !== '');
  expect(proc.output()).toMatch(/INFO.*ls-ml-backend listening/);
  expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
  expect(proc.logs()).toEqual([]);
}, 60_000);
