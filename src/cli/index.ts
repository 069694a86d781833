#!/usr/bin/env node
/**
 * The `ls-ml-backend` command: `start` (alias `serve`, the default), `worker`, `train` and `create`.
 * Each command lives in its own file; `--help` works on every one of them.
 */
import { Command } from 'commander';
import { registerCreate } from './create.js';
import { packageManifest } from './package-info.js';
import { registerStart } from './start.js';
import { registerTrain } from './train.js';

const program = new Command()
  .name('ls-ml-backend')
  .description('Label Studio ML backend: pre-annotation, webhook-driven training, your own models in TypeScript')
  .version(packageManifest().version, '-v, --version', 'print the version')
  .showHelpAfterError('(add --help for usage)');

registerStart(program);
registerTrain(program);
registerCreate(program);

await program.parseAsync();
