/** `ls-ml-backend start` (alias `serve`, the default command) and `ls-ml-backend worker`. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { guarded } from './fail.js';

// The server's modules (Express, the stores, onnxruntime through the model) load only when a command
// needs them, so `--help`, `train` and `create` answer at once.
const main = () => import('../main.js');

const ENVIRONMENT_HELP = `
Configuration comes from the environment (flags win over it), among others:
  MODEL        built-in model name or path to a .ts/.js model file (default built-in)
  PORT, HOST   where to listen (default 9090, 0.0.0.0)
  MODEL_DIR    data folder: state, model versions, downloaded files (default ./data)
  REDIS_URL    redis://host:6379 switches to distributed mode (API and workers share Redis)
  BASIC_AUTH_USER, BASIC_AUTH_PASS, WEBHOOK_SECRET   protect the endpoints
  LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY             let trainings read the project from Label Studio
  LOG_LEVEL    fatal, error, warn, info, debug, trace or silent (default info)
The README's configuration table lists every variable.`;

interface StartOptions {
  model?: string;
  port?: string;
  host?: string;
}

export function registerStart(program: Command): void {
  program
    .command('start', { isDefault: true })
    .alias('serve')
    .description('serve the ML backend API for Label Studio (in embedded mode it also trains)')
    .option('-m, --model <model>', 'built-in model name or path to a .ts/.js model file (overrides MODEL)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('--host <host>', 'address to listen on (overrides HOST)')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(
      guarded(async (opts: StartOptions) => {
        const config = loadConfig({ ...process.env, ...overrides(opts) });
        await (await main()).runServer(config);
      }),
    );

  program
    .command('worker')
    .description('run training jobs from the shared queue (distributed mode: needs REDIS_URL)')
    .option('-m, --model <model>', 'built-in model name or path to a .ts/.js model file (overrides MODEL)')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(
      guarded(async (opts: Pick<StartOptions, 'model'>) => {
        const config = loadConfig({ ...process.env, ...overrides(opts) });
        await (await main()).runWorker(config);
      }),
    );
}

function overrides(opts: StartOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (opts.model !== undefined) env.MODEL = opts.model;
  if (opts.port !== undefined) env.PORT = opts.port;
  if (opts.host !== undefined) env.HOST = opts.host;
  return env;
}
