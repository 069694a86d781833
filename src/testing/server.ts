/**
 * The one way tests start a real backend: `startServer` (what `ls-ml-backend start` runs) with a config from
 * `loadConfig`, on 127.0.0.1 and a free port, silent, over a fresh temp MODEL_DIR that `close()` removes.
 * A MODEL_DIR the caller passes is used as is and kept (restart tests). Only the given `env` is read, never
 * the test process's own environment, so a developer's REDIS_URL cannot change what a test runs against.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import type { ContextOptions } from '../context.js';
import { startServer, type RunningServer } from '../main.js';

export type LaunchedServer = RunningServer & { modelDir: string };

export async function launchServer(env: Record<string, string>, options: ContextOptions = {}): Promise<LaunchedServer> {
  const ownsDir = env.MODEL_DIR === undefined;
  const modelDir = env.MODEL_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-test-'));
  const removeDir = () => {
    if (ownsDir) fs.rmSync(modelDir, { recursive: true, force: true });
  };
  let running: RunningServer;
  try {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env, MODEL_DIR: modelDir });
    running = await startServer(config, options);
  } catch (err) {
    removeDir();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    ...running,
    modelDir: running.ctx.config.modelDir,
    close: () =>
      (closing ??= (async () => {
        try {
          await running.close();
        } finally {
          removeDir();
        }
      })()),
  };
}
