/**
 * `ls-ml-backend create <dir>`: a new backend project from templates/backend/ (a model, its test, README,
 * Dockerfile, compose file, tsconfig) plus a package.json that depends on this package, so `npm install`,
 * `npm test` and `npm start` work in it at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { StartupError } from '../util/startup-error.js';
import { guarded } from './fail.js';
import { PACKAGE_NAME, PACKAGE_ROOT, packageManifest } from './package-info.js';

export const TEMPLATE_DIR = path.join(PACKAGE_ROOT, 'templates', 'backend');

/** npm pack leaves out (or renames) dot files such as .gitignore, so the templates carry them without the dot. */
const DOT_FILES: Record<string, string> = { gitignore: '.gitignore', dockerignore: '.dockerignore' };

/**
 * Install scripts of this package's dependencies, decided for the new project so npm neither asks nor
 * skips: better-sqlite3 builds its native module (when no prebuilt one downloads), esbuild (tsx) and
 * msgpackr-extract (BullMQ) set up their binaries; onnxruntime-node's would download GPU binaries (the CPU
 * build ships in the package) and protobufjs's only checks its dependents' version ranges.
 */
export const ALLOW_SCRIPTS = { 'better-sqlite3': true, esbuild: true, 'msgpackr-extract': true, 'onnxruntime-node': false, protobufjs: false };

/** Dev tools of the new project, at the versions this package is built and tested with. */
const DEV_TOOLS = ['typescript', 'vitest', '@types/node'];

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('write a new backend project (model, test, README, Dockerfile) into a new folder')
    .argument('<dir>', 'folder to create (must not exist, or be empty)')
    .option('--sdk <spec>', `how the project depends on ${PACKAGE_NAME}: an npm version or tag, a tarball or a folder (default: this version)`)
    .action(
      guarded(async (dir: string, opts: { sdk?: string }) => {
        const target = path.resolve(dir);
        const files = createProject(target, opts.sdk);
        const relative = path.relative(process.cwd(), target);
        const shown = relative && !relative.startsWith('..') ? relative : target;
        process.stdout.write(
          `Created ${shown}: ${files.join(', ')}\n\nNext:\n  cd ${shown}\n  npm install\n  npm test\n  npm start        # http://localhost:9090, then connect it in Label Studio (see README.md)\n`,
        );
      }),
    );
}

/** Writes the project and returns the files written, in order. */
export function createProject(target: string, sdk: string | undefined): string[] {
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new StartupError(`${target} already exists and is not an empty folder`, 'choose a new folder name');
  }
  const name = packageName(path.basename(target));
  const written: string[] = [];
  fs.mkdirSync(target, { recursive: true });
  const write = (file: string, content: string) => {
    fs.writeFileSync(path.join(target, file), content);
    written.push(file);
  };
  write('package.json', `${JSON.stringify(manifestFor(name, dependencySpec(sdk, target)), null, 2)}\n`);
  for (const template of fs.readdirSync(TEMPLATE_DIR).sort()) {
    write(DOT_FILES[template] ?? template, fs.readFileSync(path.join(TEMPLATE_DIR, template), 'utf8').replaceAll('{{name}}', name));
  }
  return written;
}

function manifestFor(name: string, sdk: string): Record<string, unknown> {
  const own = packageManifest();
  const devDependencies = Object.fromEntries(DEV_TOOLS.map((tool) => [tool, own.devDependencies?.[tool] ?? 'latest']));
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'ls-ml-backend start --model ./model.ts',
      test: 'tsc --noEmit && vitest run',
      train: 'ls-ml-backend train',
    },
    engines: { node: '>=20.19' },
    allowScripts: ALLOW_SCRIPTS,
    dependencies: { [PACKAGE_NAME]: sdk },
    devDependencies,
  };
}

/**
 * `--sdk`: a tarball or folder on disk becomes a `file:` spec relative to the new project (so it survives
 * moving both together); anything else (a version, a tag, a git URL) is written as given.
 */
function dependencySpec(sdk: string | undefined, target: string): string {
  if (sdk === undefined) return `^${packageManifest().version}`;
  const local = sdk.startsWith('file:') ? sdk.slice('file:'.length) : sdk;
  const looksLocal = sdk.startsWith('file:') || /^(\.{1,2}[\\/]|[\\/]|~)/.test(sdk) || /\.(tgz|tar\.gz)$/.test(sdk);
  if (!looksLocal) return sdk;
  const absolute = path.resolve(local.replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~'));
  if (!fs.existsSync(absolute)) throw new StartupError(`--sdk ${sdk}: ${absolute} does not exist`, 'pass the path of a packed tarball (npm pack) or of a checkout of the package');
  const relative = path.relative(target, absolute).split(path.sep).join('/');
  return `file:${relative.startsWith('.') ? relative : `./${relative}`}`;
}

/** The folder name as an npm package name: lower case, and only the characters npm allows. */
function packageName(base: string): string {
  const name = base.toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._-]+/, '').slice(0, 214);
  return name || 'ls-ml-backend-model';
}
