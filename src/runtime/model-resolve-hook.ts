/**
 * Module resolve hook for users' model files; load-model.ts registers it (with tsx) before importing one.
 * It runs on Node's module-loader thread.
 *
 * - `ls-ml-backend` and `ls-ml-backend/testing` resolve to the running package: a model file needs no
 *   node_modules of its own, and it shares the server's SDK (one `Model`, one set of error brands).
 * - A `.ts`/`.js` file outside node_modules whose folder has no package.json choosing a module type is an
 *   ES module. Node (and tsx) would read it as CommonJS, which breaks `import` of this ESM-only package
 *   and top-level `await`; documented models are written with `import`/`export`.
 */
import fs from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ModelResolveHookData {
  /** Bare specifier → file URL of the running package's entry. */
  packages: Record<string, string>;
}

let packages: Record<string, string> = {};

export const initialize: InitializeHook<ModelResolveHookData> = (data) => {
  packages = data.packages;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const own = packages[specifier];
  if (own !== undefined) return { url: own, format: 'module', shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (resolved.format === 'commonjs' && isUntypedSource(resolved.url)) return { ...resolved, format: 'module' };
  return resolved;
};

const SOURCE_FILE = /\.(ts|tsx|js|jsx)$/;

function isUntypedSource(url: string): boolean {
  if (!url.startsWith('file:')) return false;
  const file = fileURLToPath(url);
  if (!SOURCE_FILE.test(file) || file.split(path.sep).includes('node_modules')) return false;
  return packageTypeOf(path.dirname(file)) === undefined;
}

/** The nearest package.json's `type`, cached per folder (undefined: no package.json, or it sets none). */
const typeByDir = new Map<string, string | undefined>();

function packageTypeOf(dir: string): string | undefined {
  if (typeByDir.has(dir)) return typeByDir.get(dir);
  let type: string | undefined;
  const manifest = path.join(dir, 'package.json');
  if (fs.existsSync(manifest)) {
    try {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { type?: unknown };
      type = typeof parsed.type === 'string' ? parsed.type : undefined;
    } catch {
      type = undefined; // an unreadable package.json chooses nothing; Node reports it itself if it matters
    }
  } else {
    const parent = path.dirname(dir);
    type = parent === dir ? undefined : packageTypeOf(parent);
  }
  typeByDir.set(dir, type);
  return type;
}
