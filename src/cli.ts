#!/usr/bin/env node
/**
 * Command line: `serve` (HTTP API; in embedded mode it also trains) and `worker` (training only, needs
 * REDIS_URL). `npm start` runs `serve`, `npm run worker` runs `worker`.
 */
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { runServer, runWorker } from './main.js';

const program = new Command()
  .name('ls-ml-backend')
  .description('Label Studio ML backend: pre-annotation, webhook-driven training, pluggable models');

program
  .command('serve', { isDefault: true })
  .description('serve the Label Studio ML backend API (configuration from the environment, see README)')
  .option('-p, --port <port>', 'overrides PORT')
  .option('--host <host>', 'overrides HOST')
  .action(async (opts: { port?: string; host?: string }) => {
    const config = loadConfigOrExit({ ...process.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) });
    await runServer(config);
  });

program
  .command('worker')
  .description('run training jobs from the shared queue (requires REDIS_URL)')
  .action(async () => {
    await runWorker(loadConfigOrExit(process.env));
  });

function loadConfigOrExit(env: NodeJS.ProcessEnv) {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ls-ml-backend: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

await program.parseAsync();
