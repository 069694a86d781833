/**
 * Resolves MODEL to a Model subclass: a built-in name (a folder under models/, e.g. `text-classifier`,
 * `keyword-choices`) or a path to a module whose default export (or `Model` export) extends Model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Model, type ModelClass } from '../sdk/model.js';

const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));
const BUILT_IN = /^[a-z0-9][a-z0-9-]*$/;

export async function loadModelClass(spec: string): Promise<ModelClass> {
  const file = resolveModelFile(spec);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const candidate = mod.default ?? mod.Model;
  if (typeof candidate !== 'function' || !(candidate.prototype instanceof Model)) {
    throw new Error(`MODEL=${spec}: ${file} must default-export a class that extends Model`);
  }
  return candidate as ModelClass;
}

function resolveModelFile(spec: string): string {
  const candidates = BUILT_IN.test(spec)
    ? ['index.js', 'index.ts'].map((f) => path.join(MODELS_DIR, spec, f))
    : [path.resolve(spec), ...['index.js', 'index.ts'].map((f) => path.resolve(spec, f))];
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (!found) throw new Error(`MODEL=${spec}: no model module found (looked at ${candidates.join(', ')})`);
  return found;
}
