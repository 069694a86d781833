/**
 * `extra_params` parsed once: Label Studio's form sends its textarea as a string, API clients any JSON
 * value; a model reads `this.extraParams` as the parsed value either way. The Model instances here are
 * built by the real ModelFactory from a stored project record, as the host and the training worker do.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { ModelFactory } from '../../src/runtime/model-factory.js';
import { VersionManager } from '../../src/runtime/versions.js';
import { Model, parseExtraParams } from '../../src/sdk/index.js';
import { createEmbeddedStores, type Stores } from '../../src/store/index.js';
import type { Json } from '../../src/util/json.js';

describe('parseExtraParams', () => {
  it('turns a string holding JSON into its value', () => {
    expect(parseExtraParams('{"control": "topic", "threshold": 0.4}')).toEqual({ control: 'topic', threshold: 0.4 });
    expect(parseExtraParams('  [1, 2]\n')).toEqual([1, 2]);
    expect(parseExtraParams('42')).toBe(42);
    expect(parseExtraParams('true')).toBe(true);
    expect(parseExtraParams('null')).toBeNull();
    expect(parseExtraParams('"quoted"')).toBe('quoted');
  });

  it('keeps a string that is not JSON as it is', () => {
    expect(parseExtraParams('fast')).toBe('fast');
    expect(parseExtraParams('')).toBe('');
    expect(parseExtraParams('{"control": "topic"')).toBe('{"control": "topic"');
    expect(parseExtraParams("{control: 'topic'}")).toBe("{control: 'topic'}");
  });

  it('returns any other JSON value unchanged, and null for none', () => {
    const object = { keywords: { Positive: ['love'] } };
    expect(parseExtraParams(object)).toBe(object);
    const array = ['a'];
    expect(parseExtraParams(array)).toBe(array);
    expect(parseExtraParams(7)).toBe(7);
    expect(parseExtraParams(false)).toBe(false);
    expect(parseExtraParams(null)).toBeNull();
    expect(parseExtraParams(undefined)).toBeNull();
  });
});

class EchoModel extends Model {
  override predict() {
    return [];
  }
}

describe('Model.extraParams', () => {
  let dir: string;
  let stores: Stores;
  let factory: ModelFactory;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-extra-params-'));
    stores = createEmbeddedStores({ modelDir: dir });
    const versions = new VersionManager(stores.versions, stores.artifacts, async () => {}, 'Echo-v0', 3);
    factory = new ModelFactory({
      ModelClass: EchoModel,
      projects: stores.projects,
      state: stores.state,
      artifacts: stores.artifacts,
      versions,
      log: createLogger('silent'),
      modelDir: dir,
      labelStudio: { url: undefined, apiKey: undefined, allowedFileHosts: [] },
    });
  });

  afterAll(async () => {
    await stores?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const build = (extraParams: Json) =>
    factory.build(
      { id: '7', uid: '7.1700000000', labelConfig: '<View></View>', extraParams, hostname: undefined, accessToken: undefined, trusted: true, updatedAt: new Date(0).toISOString() },
      'Echo-v0',
    );

  it('is the parsed value of the stored string, the same object on every read', async () => {
    const model = await build('{"control": "topic"}');
    expect(model.extraParams).toEqual({ control: 'topic' });
    expect(model.extraParams).toBe(model.extraParams);
  });

  it('is the stored value itself when it is not a string, and a plain string stays a string', async () => {
    expect((await build({ control: 'topic' })).extraParams).toEqual({ control: 'topic' });
    expect((await build('fast')).extraParams).toBe('fast');
    expect((await build(null)).extraParams).toBeNull();
  });

  it('parses for instances the factory builds from a stored project, and leaves the record as Label Studio sent it', async () => {
    await stores.projects.put({ id: '8', uid: '8.1', labelConfig: '<View></View>', extraParams: '{"a": 1}', hostname: undefined, accessToken: undefined, trusted: true, updatedAt: new Date(0).toISOString() });
    const model = await factory.instantiate('8');
    expect(model.extraParams).toEqual({ a: 1 });
    expect((await stores.projects.get('8'))?.extraParams).toBe('{"a": 1}');
  });
});
