/**
 * ModelHost: one cached instance per project, rebuilt only when the config or version changes, hot swap
 * beside the old instance, and a cache bounded by count, bytes and idle time. Real SQLite stores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Model } from '../../src/sdk/model.js';
import { ModelFactory } from '../../src/runtime/model-factory.js';
import { ModelHost } from '../../src/runtime/model-host.js';
import { VersionManager } from '../../src/runtime/versions.js';
import { createEmbeddedStores, type Stores } from '../../src/store/index.js';

const CONFIG = '<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>';

const events: string[] = [];

class CountingModel extends Model {
  static bytes = 1000;
  /** When set, setup() waits for it: a build that is still under way. */
  static gate: Promise<void> | undefined;
  override async setup() {
    events.push(`setup ${this.projectId} ${this.modelVersion}`);
    await CountingModel.gate;
  }
  override predict() {
    return [];
  }
  override dispose() {
    events.push(`dispose ${this.projectId} ${this.modelVersion}`);
  }
  override get memoryBytes() {
    return CountingModel.bytes;
  }
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
  events.length = 0;
});

function makeHost(cache: { max: number; maxBytes: number; idleMs: number; prefetchMs?: number }): { host: ModelHost; stores: Stores; versions: VersionManager } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-host-'));
  const stores = createEmbeddedStores({ modelDir: dir });
  // Announce on the feed only (no awaited swap), so a test can publish while a build is still under way.
  const announce = (projectId: string, version: string) => stores.feed.publish({ kind: 'version', projectId, version });
  const versions = new VersionManager(stores.versions, stores.artifacts, announce, 'Counting-v0', 3);
  const log = createLogger('silent');
  const factory = new ModelFactory({
    ModelClass: CountingModel,
    projects: stores.projects,
    state: stores.state,
    artifacts: stores.artifacts,
    versions,
    log,
    modelDir: dir,
    labelStudio: { url: undefined, apiKey: undefined, allowedFileHosts: [] },
  });
  const host = new ModelHost({
    factory,
    projects: stores.projects,
    versions,
    feed: stores.feed,
    log,
    cache,
    retireGraceMs: 0,
  });
  cleanup.push(async () => {
    await host.close();
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { host, stores, versions };
}

const register = (host: ModelHost, id: string) =>
  host.register({ id, uid: `${id}.1700000000`, labelConfig: CONFIG, extraParams: null, hostname: undefined, accessToken: undefined, trusted: true });

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('ModelHost cache', () => {
  it('a version published while an older one is still being built ends up served', async () => {
    const { host, versions } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 0 });
    await register(host, '1');
    let release!: () => void;
    CountingModel.gate = new Promise((resolve) => (release = resolve));
    await versions.publish('1'); // v1: the refresh starts building it and waits in setup()
    await settle();
    CountingModel.gate = undefined;
    await versions.publish('1'); // v2 arrives while v1 is still being built
    release();
    await expect.poll(async () => (await host.model('1')).modelVersion, { timeout: 2_000 }).toBe('Counting-v2');
    expect(events).toContain('setup 1 Counting-v1');
  });

  it('builds once per project and reuses the instance until something changes', async () => {
    const { host } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 0 });
    const first = await register(host, '1');
    expect(await host.model('1')).toBe(first);
    expect(await register(host, '1')).toBe(first); // same /setup again: no rebuild
    expect(await host.model('1', CONFIG)).toBe(first); // same config in /predict: no rebuild
    expect(events).toEqual(['setup 1 Counting-v0']);
  });

  it('rebuilds on a label config change and disposes the replaced instance', async () => {
    const { host } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 0 });
    const first = await register(host, '1');
    const second = await host.model('1', CONFIG.replace('"A"', '"B"'));
    expect(second).not.toBe(first);
    await settle();
    // The old instance is retired (disposed after the grace period), the new one built once.
    expect(events.filter((e) => e.startsWith('setup'))).toHaveLength(2);
    expect(events.filter((e) => e.startsWith('dispose'))).toEqual(['dispose 1 Counting-v0']);
  });

  it('hot-swaps to a newly published version and keeps serving the old one until the new one is ready', async () => {
    const { host, versions } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 0 });
    const first = await register(host, '1');
    await versions.publish('1', { artifact: new Uint8Array([1, 2, 3]) });
    await host.refresh('1');
    const second = await host.model('1');
    expect(second.modelVersion).toBe('Counting-v1');
    expect(second).not.toBe(first);
    await settle();
    expect(events).toContain('dispose 1 Counting-v0');
  });

  it('evicts the least recently used project beyond MODEL_CACHE_MAX', async () => {
    const { host } = makeHost({ max: 2, maxBytes: 1e9, idleMs: 0 });
    await register(host, '1');
    await register(host, '2');
    await host.model('1'); // 2 is now the least recently used
    await register(host, '3');
    await settle();
    expect(events.filter((e) => e.startsWith('dispose'))).toEqual(['dispose 2 Counting-v0']);
    await host.model('1');
    expect(events.filter((e) => e === 'setup 1 Counting-v0')).toHaveLength(1);
  });

  it('evicts by bytes: instances reporting more memory than MODEL_CACHE_MAX_MB allows are unloaded', async () => {
    CountingModel.bytes = 400;
    try {
      const { host } = makeHost({ max: 100, maxBytes: 1000, idleMs: 0 });
      await register(host, '1');
      await register(host, '2');
      await register(host, '3'); // 1,200 bytes > 1,000: the oldest goes
      await settle();
      expect(events.filter((e) => e.startsWith('dispose'))).toEqual(['dispose 1 Counting-v0']);
    } finally {
      CountingModel.bytes = 1000;
    }
  });

  it('with a prefetch window, loads an announced version at once only for a project served within it; others on their next request', async () => {
    const { host, versions } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 0, prefetchMs: 60_000 });
    await register(host, 'served');
    await register(host, 'registered');
    await host.model('served');
    await versions.publish('served', { artifact: new Uint8Array([1]) });
    await versions.publish('registered', { artifact: new Uint8Array([2]) });
    await settle();
    expect(events).toContain('setup served Counting-v1');
    expect(events).not.toContain('setup registered Counting-v1');
    // The next request loads it, and is answered by the new version.
    expect((await host.model('registered')).modelVersion).toBe('Counting-v1');
    expect(events.filter((e) => e === 'setup registered Counting-v1')).toHaveLength(1);
  });

  it('unloads a project not used for MODEL_IDLE_UNLOAD_MS and rebuilds it on the next request', async () => {
    const { host } = makeHost({ max: 10, maxBytes: 1e9, idleMs: 100 });
    const first = await register(host, '1');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const again = await host.model('1');
    expect(again).not.toBe(first);
    expect(events.filter((e) => e === 'setup 1 Counting-v0')).toHaveLength(2);
  });
});
