/**
 * A version that fails to load: the factory verifies artifacts where `loadArtifact()` is served, marks a
 * failing version bad, serves the newest good one and moves `current` to it; the host keeps its serving
 * instance on a failed hot swap. Only real failures of that version count: a refused config or a store
 * outage marks nothing. Real SQLite stores and artifact files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Model } from '../../src/sdk/model.js';
import { ModelFactory, ModelSetupError, NoUsableVersionError } from '../../src/runtime/model-factory.js';
import { ModelHost } from '../../src/runtime/model-host.js';
import { VersionManager } from '../../src/runtime/versions.js';
import { createEmbeddedStores, type Stores } from '../../src/store/index.js';

const CONFIG = '<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>';
const REFUSED_CONFIG = CONFIG.replace('"A"', '"refuse"');

/** Serves the text of its artifact. Its setup() throws on a "poison" artifact, on a refused config and on `outage`. */
class TextModel extends Model {
  static outage = false;
  static swallow = false;
  text: string | undefined;
  override async setup() {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.loadArtifact();
    } catch (err) {
      if (!TextModel.swallow) throw err;
    }
    this.text = bytes && new TextDecoder().decode(bytes);
    if (this.text === 'poison') throw new Error('cannot read these weights');
    if (this.labelConfig.includes('refuse')) throw new Error('this model refuses the config');
    if (TextModel.outage) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }
  override predict() {
    return [];
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  TextModel.outage = false;
  TextModel.swallow = false;
  for (const fn of cleanup.splice(0)) await fn();
});

function setup(keep = 5) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'version-fallback-'));
  const stores: Stores = createEmbeddedStores({ modelDir: dir });
  // Records announcements without swapping, so a test can damage a version before the host loads it.
  const announced: string[] = [];
  const versions = new VersionManager(stores.versions, stores.artifacts, async (_p, v) => void announced.push(v), 'Text-v0', keep);
  const errors: Array<{ msg: string; version?: string }> = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  const factory = new ModelFactory({
    ModelClass: TextModel,
    projects: stores.projects,
    state: stores.state,
    artifacts: stores.artifacts,
    versions,
    log,
    modelDir: dir,
    labelStudio: { url: undefined, apiKey: undefined, allowedFileHosts: [] },
  });
  const host = new ModelHost({ factory, projects: stores.projects, versions, feed: stores.feed, log, cache: { max: 10, maxBytes: 1e9, idleMs: 0 }, retireGraceMs: 0 });
  cleanup.push(async () => {
    await host.close();
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const artifactFile = (version: string) => path.join(dir, 'artifacts', '1', `${version}.bin`);
  const register = (labelConfig = CONFIG) =>
    host.register({ id: '1', uid: '1.1700000000', labelConfig, extraParams: null, hostname: undefined, accessToken: undefined, trusted: true });
  const publish = async (text: string) => (await versions.publish('1', { artifact: new TextEncoder().encode(text) })).version;
  const stored = async () => (await versions.get('1'))!;
  return { host, factory, versions, stores, announced, errors, artifactFile, register, publish, stored };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
/** What an instance serves (vitest cannot diff a Model's private fields). */
const served = (model: Model) => ({ version: model.modelVersion, text: (model as TextModel).text });

describe('a version whose artifact fails verification', () => {
  it.each([
    ['truncated', (file: string) => fs.truncateSync(file, 1), /truncated/],
    ['deleted', (file: string) => fs.rmSync(file), /missing/],
    ['with other bytes of the same size', (file: string) => fs.writeFileSync(file, 'twO'), /SHA-256/],
  ])('%s: the hot swap keeps the serving instance, marks it bad once and moves current back', async (_label, damage, reason) => {
    const t = setup();
    await t.register();
    const v1 = await t.publish('one');
    await t.host.refresh('1');
    const serving = await t.host.model('1');
    expect(served(serving)).toEqual({ version: v1, text: 'one' });

    const v2 = await t.publish('two');
    damage(t.artifactFile(v2));
    await t.host.refresh('1');
    expect(await t.host.model('1')).toBe(serving); // the very instance, not a rebuild of v1
    const doc = await t.stored();
    expect(doc).toMatchObject({ current: v1, pinned: false });
    expect(doc.versions[0]).toMatchObject({ version: v2, status: 'bad', error: expect.stringMatching(reason) });
    expect(t.errors).toEqual([expect.objectContaining({ version: v2, msg: expect.stringMatching(reason) })]);
    await settle();
    expect(t.announced.at(-1)).toBe(v1); // every process is told to serve v1 again

    // Building again (another process, a restart) neither retries v2 nor logs it again.
    expect((await t.factory.buildServed((await t.factory.record('1')))).modelVersion).toBe(v1);
    expect(t.errors).toHaveLength(1);
  });

  it('is refused even when the model catches the error itself', async () => {
    const t = setup();
    TextModel.swallow = true;
    const v1 = await t.publish('one');
    const v2 = await t.publish('two');
    fs.rmSync(t.artifactFile(v2));
    expect(served(await t.register())).toEqual({ version: v1, text: 'one' });
    expect((await t.stored()).versions[0]).toMatchObject({ version: v2, status: 'bad' });
  });

  it('falls back past several bad versions, down to the untrained one', async () => {
    const t = setup();
    for (const text of ['one', 'two']) fs.rmSync(t.artifactFile(await t.publish(text)));
    expect(served(await t.register())).toEqual({ version: 'Text-v0', text: undefined });
    const doc = await t.stored();
    expect(doc.current).toBe('Text-v0');
    expect(doc.versions.map((v) => v.status)).toEqual(['bad', 'bad', 'ok']);
    expect(t.errors).toHaveLength(2);
  });

  it('when no kept version loads: a 422 naming them, and training starts from the untrained state', async () => {
    const t = setup(2); // keeps v2 and v1 only
    const [v1, v2] = [await t.publish('one'), await t.publish('two')];
    for (const v of [v1, v2]) fs.rmSync(t.artifactFile(v));
    const refused = await t.register().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(NoUsableVersionError);
    expect((refused as ModelSetupError).status).toBe(422);
    expect((refused as Error).message).toMatch(new RegExp(`${v2}: its artifact is missing.*${v1}: its artifact is missing`));
    expect(served(await t.factory.instantiate('1'))).toEqual({ version: 'Text-v0', text: undefined });
    const v3 = await t.publish('three');
    expect(served(await t.host.model('1'))).toEqual({ version: v3, text: 'three' });
  });

  it('training builds the served version too (a restart before any request)', async () => {
    const t = setup();
    const v1 = await t.publish('one');
    fs.truncateSync(t.artifactFile(await t.publish('two')), 1);
    expect(served(await t.factory.instantiate('1'))).toEqual({ version: v1, text: 'one' });
    expect((await t.stored()).current).toBe(v1);
  });
});

describe('a setup() that throws', () => {
  it('on its verified artifact: bad, because an older version builds with the same config', async () => {
    const t = setup();
    const v1 = await t.publish('one');
    const v2 = await t.publish('poison');
    expect(served(await t.register())).toEqual({ version: v1, text: 'one' });
    expect((await t.stored()).versions[0]).toMatchObject({ version: v2, status: 'bad', error: expect.stringMatching(/setup\(\) failed on its artifact: cannot read these weights/) });
  });

  it('on the label config: a 422 and nothing is marked (no version would serve it)', async () => {
    const t = setup();
    await t.register();
    await t.publish('one');
    await t.publish('two');
    const before = await t.stored();
    const refused = await t.register(REFUSED_CONFIG).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ModelSetupError);
    expect((refused as ModelSetupError).status).toBe(422);
    expect(await t.stored()).toEqual(before);
    expect(t.errors).toEqual([]);
  });

  it('because the store is unreachable: thrown as is (a 503), nothing is marked', async () => {
    const t = setup();
    await t.register();
    await t.publish('one');
    const before = await t.stored();
    TextModel.outage = true;
    const failed = await t.factory.buildServed(await t.factory.record('1')).catch((err: unknown) => err);
    expect(failed).not.toBeInstanceOf(ModelSetupError);
    expect((failed as Error).message).toMatch(/ECONNREFUSED/);
    expect(await t.stored()).toEqual(before);
  });
});

describe('pins and bad versions', () => {
  it('a pin to a bad version is a 409; unpinning follows the newest good version', async () => {
    const t = setup();
    const v1 = await t.publish('one');
    const v2 = await t.publish('two');
    fs.rmSync(t.artifactFile(v2));
    await t.register();
    await expect(t.versions.pin('1', v2)).rejects.toMatchObject({ status: 409, code: 'version_bad' });
    expect(await t.versions.pin('1', 'Text-v0')).toMatchObject({ current: 'Text-v0', pinned: true });
    expect(await t.versions.pin('1', undefined)).toMatchObject({ current: v1, pinned: false });
  });

  it('a pinned version that goes bad is unpinned for the newest good one', async () => {
    const t = setup();
    const v1 = await t.publish('one');
    const v2 = await t.publish('two');
    await t.versions.pin('1', v1);
    fs.writeFileSync(t.artifactFile(v1), 'ONE');
    expect(served(await t.register())).toEqual({ version: v2, text: 'two' });
    expect(await t.stored()).toMatchObject({ current: v2, pinned: false });
  });

  it('reads and refused pins of an unknown project create nothing', async () => {
    const t = setup();
    expect(await t.versions.get('9')).toBeUndefined();
    await expect(t.versions.pin('9', undefined)).rejects.toMatchObject({ status: 404 });
    expect(t.versions.servedOf(await t.versions.get('9'))).toBe('Text-v0');
    expect(await t.stores.versions.list()).toEqual([]);
  });
});
