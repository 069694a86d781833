/**
 * `isModelClass` and the other brands that let two copies of this package recognise each other's classes
 * (a model file may import the SDK from its own node_modules). The second copy is the same source loaded
 * again under another URL: its classes are distinct objects, exactly as with a second install.
 */
import { describe, expect, it } from 'vitest';
import { Model, isModelClass } from '../../src/sdk/model.js';
import { finalizePredictions } from '../../src/sdk/model-response.js';
import type { Task } from '../../src/sdk/types.js';

type ModelModule = typeof import('../../src/sdk/model.js');
type ResponseModule = typeof import('../../src/sdk/model-response.js');

/** The module at `relative` (from this file) as a separate instance, like a second copy of the package. */
const secondCopy = <T>(relative: string): Promise<T> => import(/* @vite-ignore */ `${new URL(relative, import.meta.url).href}?second-copy`) as Promise<T>;

class Local extends Model {
  override predict(tasks: Task[]) {
    return tasks.map(() => ({ result: [], score: 0 }));
  }
}
class LocalChild extends Local {}

describe('isModelClass', () => {
  it('accepts subclasses of Model at any depth', () => {
    expect(isModelClass(Local)).toBe(true);
    expect(isModelClass(LocalChild)).toBe(true);
  });

  it('refuses Model itself, other classes and anything that is not a class', () => {
    expect(isModelClass(Model)).toBe(false);
    expect(isModelClass(class NotAModel {})).toBe(false);
    expect(isModelClass(() => undefined)).toBe(false);
    for (const value of [undefined, null, 0, 'Model', {}, { prototype: Model.prototype }, Object.create(Local.prototype)]) {
      expect(isModelClass(value)).toBe(false);
    }
  });

  it('does not count a class that only copies the brand onto itself', () => {
    const forged = class {};
    Object.defineProperty(forged, Symbol.for('ls-ml-backend.Model'), { value: true });
    expect(isModelClass(forged)).toBe(false);
  });

  it('recognises a subclass of the Model of a second copy of the package, where instanceof cannot', async () => {
    const copy = await secondCopy<ModelModule>('../../src/sdk/model.ts');
    expect(copy.Model).not.toBe(Model);
    class Foreign extends copy.Model {
      override predict() {
        return [];
      }
    }
    expect(Foreign.prototype instanceof Model).toBe(false);
    expect(isModelClass(Foreign)).toBe(true);
    // And the other way round: that copy recognises this copy's subclasses.
    expect(copy.isModelClass(Local)).toBe(true);
    expect(copy.isModelClass(copy.Model)).toBe(false);
    expect(isModelClass(copy.Model)).toBe(false);
  });

  it('keeps the brand out of a class listing', () => {
    expect(Object.keys(Local)).toEqual([]);
    expect(Object.keys(Model)).toEqual([]);
  });
});

describe('ModelResponse from a second copy of the package', () => {
  it('is finalised like this copy’s: its own version wins, missing ones are filled', async () => {
    const copy = await secondCopy<ResponseModule>('../../src/sdk/model-response.ts');
    const response = new copy.ModelResponse([{ result: [] }, { result: [], model_version: 'mine' }], 'Foreign-v9');
    expect(finalizePredictions(response, 'Served-v1')).toEqual([
      { model_version: 'Foreign-v9', score: 0, result: [] },
      { model_version: 'mine', score: 0, result: [] },
    ]);
  });
});
