/**
 * Resolves MODEL (or `--model`) to a Model subclass: a built-in name (a folder under models/, e.g.
 * `text-classifier`, `keyword-choices`) or a path to a `.ts`/`.js` module, in any folder, whose default
 * export extends Model. Users' files load through tsx, so they never need this package's build, and
 * `import … from 'ls-ml-backend'` in them resolves to the running package (model-resolve-hook.ts).
 * Every failure is a StartupError naming the problem and the fix.
 */
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';
import { isModelClass, type ModelClass } from '../sdk/index.js';
import { StartupError } from '../util/startup-error.js';
import type { ModelResolveHookData } from './model-resolve-hook.js';

/** From dist/ the package's files are `.js`; from sources (tsx, vitest) they are `.ts`. */
const EXT = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));
/**
 * Only the built-in models are compiled into dist/; another folder a user adds under the repo's models/
 * loads from its sources at run time, so it can never break the build (or start-up) of the others.
 */
const SOURCE_MODELS_DIR = EXT === '.js' ? fileURLToPath(new URL('../../../models/', import.meta.url)) : undefined;
const BUILT_IN_NAME = /^[a-z0-9][a-z0-9-]*$/;
const INDEX_FILES = ['index.ts', 'index.js', 'index.mts', 'index.mjs'];

export async function loadModelClass(spec: string): Promise<ModelClass> {
  const { file, builtIn } = locateModel(spec);
  // Built-in models are part of this package's build; only users' files need the loader.
  if (!builtIn) registerModelLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw loadFailure(displayPath(file), err);
  }
  return modelClassOf(mod, displayPath(file));
}

/** The built-in model names (folders under models/ with an index module). */
export function builtInModels(): string[] {
  if (!fs.existsSync(MODELS_DIR)) return [];
  return fs
    .readdirSync(MODELS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && INDEX_FILES.some((f) => fs.existsSync(path.join(MODELS_DIR, d.name, f))))
    .map((d) => d.name)
    .sort();
}

function locateModel(spec: string): { file: string; builtIn: boolean } {
  if (BUILT_IN_NAME.test(spec)) {
    const builtIn = firstFile(INDEX_FILES.map((f) => path.join(MODELS_DIR, spec, f)));
    if (builtIn) return { file: builtIn, builtIn: true };
    const fromSources = SOURCE_MODELS_DIR && firstFile(INDEX_FILES.map((f) => path.join(SOURCE_MODELS_DIR, spec, f)));
    if (fromSources) return { file: fromSources, builtIn: false };
  }
  const target = path.resolve(spec);
  const file = firstFile([target, ...INDEX_FILES.map((f) => path.join(target, f))]);
  if (file) return { file, builtIn: false };
  const names = builtInModels();
  throw new StartupError(
    `model "${spec}" not found (no built-in model of that name, no file or folder ${target})`,
    `pass --model (or MODEL=) ${names.length ? `a built-in name (${names.join(', ')}) or ` : ''}a path to a .ts/.js file that default-exports a Model subclass`,
  );
}

function firstFile(candidates: string[]): string | undefined {
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

let loaderRegistered = false;

/**
 * tsx compiles TypeScript; our hook, registered after it so it runs first, maps the package's own name to
 * this copy. Once per thread: a worker thread (training) has loader hooks of its own.
 */
function registerModelLoader(): void {
  if (loaderRegistered) return;
  loaderRegistered = true;
  registerTsx();
  const data: ModelResolveHookData = {
    packages: {
      'ls-ml-backend': new URL(`../sdk/index${EXT}`, import.meta.url).href,
      'ls-ml-backend/testing': new URL(`../testing/index${EXT}`, import.meta.url).href,
    },
  };
  register(new URL(`./model-resolve-hook${EXT}`, import.meta.url), { data });
}

function modelClassOf(mod: Record<string, unknown>, shown: string): ModelClass {
  if (isModelClass(mod.default)) return mod.default;
  const named = Object.entries(mod).filter(([name, value]) => name !== 'default' && isModelClass(value));
  if (mod.default === undefined && named.length === 1) return named[0]![1] as ModelClass;
  const found = mod.default === undefined ? 'it has no default export' : `its default export is ${describe(mod.default)}`;
  throw new StartupError(
    `model ${shown} does not export a Model subclass (${found})`,
    `write \`export default class MyModel extends Model { … }\` with \`import { Model } from 'ls-ml-backend'\``,
  );
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `${value.name ? `\`${value.name}\`` : 'a function'}, which does not extend Model`;
  return value === null ? 'null' : `a ${typeof value}`;
}

/** Turns what an import threw into one line: a syntax error, a missing import, or an error in the module's top level. */
function loadFailure(shown: string, err: unknown): StartupError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  // tsx (esbuild): "Transform failed with 1 error:\n/abs/file.ts:3:10: ERROR: Expected ";" but found "x""
  const syntax = /^.*ERROR: .*$/m.exec(message)?.[0] ?? (err instanceof SyntaxError ? message : undefined);
  if (syntax) return new StartupError(`model ${shown} does not compile: ${firstLine(syntax)}`, 'fix the syntax error at the position shown');
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const pkg = /Cannot find package '([^']+)'/.exec(message)?.[1];
    return new StartupError(
      `model ${shown} failed to load: ${firstLine(message)}`,
      pkg ? `install it next to the model (npm install ${pkg})` : 'check the import path (relative imports need the file extension, e.g. ./lib.js or ./lib.ts)',
    );
  }
  return new StartupError(`model ${shown} failed to load: ${firstLine(message)}`, "fix the error in the model module's top-level code (it runs once at start-up)");
}

const firstLine = (text: string) => text.trim().split('\n', 1)[0]!.slice(0, 500);

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? `./${relative}` : file;
}
