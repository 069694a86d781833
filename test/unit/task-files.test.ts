import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  parseTaskFileRef,
  TaskFileError,
  TaskFileResolver,
  type TaskFileResolverOptions,
} from '../../src/labelstudio/files.js';
import {
  startFakeLabelStudio,
  startRecordingServer,
  type FakeLabelStudio,
  type FakeLabelStudioOptions,
  type RecordingServer,
} from '../support/fake-label-studio.js';
import { rejectionOf } from '../support/promises.js';

const TOKEN = 'ls-legacy-token-8e1b3c90aa';
const HASHED_NAME = /^[0-9a-f]{64}(\.[a-z0-9]+)?$/;

let cacheDir: string;
const servers: Array<FakeLabelStudio | RecordingServer> = [];

beforeEach(async () => {
  cacheDir = await mkdtemp(path.join(tmpdir(), 'task-files-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(cacheDir, { recursive: true, force: true });
});

async function fakeLs(options: FakeLabelStudioOptions = {}): Promise<FakeLabelStudio> {
  const ls = await startFakeLabelStudio({ token: TOKEN, ...options });
  servers.push(ls);
  return ls;
}

async function foreignHost(options: Parameters<typeof startRecordingServer>[0] = {}): Promise<RecordingServer> {
  const server = await startRecordingServer(options);
  servers.push(server);
  return server;
}

function resolverFor(ls: FakeLabelStudio | undefined, options: Partial<TaskFileResolverOptions> = {}) {
  return new TaskFileResolver({ labelStudioUrl: ls?.url, token: TOKEN, cacheDir, ...options });
}

/** The file is a hash-named file directly inside cacheDir, with the expected content. */
async function expectCachedFile(file: string, content: string | Buffer) {
  expect(path.isAbsolute(file)).toBe(true);
  expect(path.dirname(file)).toBe(path.resolve(cacheDir));
  expect(path.basename(file)).toMatch(HASHED_NAME);
  expect(await readFile(file)).toEqual(Buffer.from(content));
}

describe('parseTaskFileRef', () => {
  it.each([
    ['/data/upload/7/a.jpg', 'upload'],
    ['upload/7/a.jpg', 'upload'],
    ['/upload/7/a.jpg', 'upload'],
    ['/storage-data/uploaded/?filepath=upload/7/a.jpg', 'label-studio'],
    ['/data/local-files?d=dir/a.jpg', 'label-studio'],
    ['/data/local-files/?d=dir/a.jpg', 'label-studio'],
    ['/tasks/3/presign/?fileuri=czM6Ly9iL2E=', 'label-studio'],
    ['s3://bucket/a.jpg', 'cloud'],
    ['gs://bucket/a.jpg', 'cloud'],
    ['azure-blob://container/a.jpg', 'cloud'],
    ['azure-spi://container/a.jpg', 'cloud'],
    ['https://cdn.example.com/a.jpg', 'http'],
    ['HTTP://cdn.example.com/a.jpg', 'http'],
  ])('%s is a %s reference', (value, kind) => {
    expect(parseTaskFileRef(value)?.kind).toBe(kind);
  });

  it.each([
    'this is text',
    'uploading is fun',
    '/home/user/123.jpg',
    'c:\\test.jpg',
    'https://example.com/a.jpg and more words',
    's3://bucket-only',
    'ftp://example.com/a.jpg',
    '',
  ])('%j is not a file reference', (value) => {
    expect(parseTaskFileRef(value)).toBeNull();
  });
});

describe('TaskFileResolver.getLocalPath', () => {
  it('downloads an upload through the storage proxy with the token', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/a.txt': 'uploaded bytes' } });

    const file = await resolverFor(ls).getLocalPath('/data/upload/7/a.txt');

    await expectCachedFile(file, 'uploaded bytes');
    expect(path.extname(file)).toBe('.txt');
    expect(ls.requests).toHaveLength(1);
    expect(ls.requests[0]).toMatchObject({
      path: '/storage-data/uploaded/',
      query: { filepath: 'upload/7/a.txt' },
      headers: { authorization: `Token ${TOKEN}` },
    });
  });

  it('accepts the bare upload/… form', async () => {
    const ls = await fakeLs({ files: { 'upload/7/b.txt': 'b' } });

    const file = await resolverFor(ls).getLocalPath('upload/7/b.txt');

    await expectCachedFile(file, 'b');
  });

  it('falls back to /data/upload/ when Label Studio has no storage proxy', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/a.txt': 'legacy bytes' }, storageProxy: false });

    const file = await resolverFor(ls).getLocalPath('/data/upload/7/a.txt');

    await expectCachedFile(file, 'legacy bytes');
    expect(ls.requests.map((r) => r.path)).toEqual(['/storage-data/uploaded/', '/data/upload/7/a.txt']);
    expect(ls.requests.every((r) => r.headers.authorization === `Token ${TOKEN}`)).toBe(true);
  });

  it('downloads a /storage-data/uploaded/?filepath= URL as is', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/c.json': '{"a":1}' } });

    const file = await resolverFor(ls).getLocalPath('/storage-data/uploaded/?filepath=upload/7/c.json');

    await expectCachedFile(file, '{"a":1}');
    expect(path.extname(file)).toBe('.json');
  });

  it('downloads a local-files URL, keeping the token across the same-host redirect', async () => {
    const ls = await fakeLs({ files: { '/data/local-files/?d=dir/d.csv': 'x,y\n1,2\n' } });

    const file = await resolverFor(ls).getLocalPath('/data/local-files?d=dir/d.csv');

    await expectCachedFile(file, 'x,y\n1,2\n');
    expect(ls.requests.map((r) => `${r.path}?d=${r.query.d}`)).toEqual([
      '/data/local-files?d=dir/d.csv', // 301, APPEND_SLASH
      '/data/local-files/?d=dir/d.csv',
    ]);
    expect(ls.requests.every((r) => r.headers.authorization === `Token ${TOKEN}`)).toBe(true);
  });

  it.each(['s3://bucket/img.png', 'gs://bucket/dir/img.png', 'azure-blob://container/i.png', 'azure-spi://container/im.png'])(
    'resolves %s through the task presign endpoint, without the token at the bucket',
    async (uri) => {
      const ls = await fakeLs({ files: { [uri]: `object ${uri}` } });
      const resolver = resolverFor(ls, { allowedHosts: [] });
      const withBucket = resolverFor(ls, { allowedHosts: [ls.bucketHost] });

      // Without the bucket in the allowed hosts, the presign redirect is refused before reaching it.
      const refused = await rejectionOf(resolver.getLocalPath(uri, 42));
      expect(refused).toMatchObject({ code: 'host_not_allowed' });
      expect(ls.bucketRequests).toHaveLength(0);

      const file = await withBucket.getLocalPath(uri, 42);

      await expectCachedFile(file, `object ${uri}`);
      const presign = ls.requests.filter((r) => r.path === '/tasks/42/presign/');
      expect(presign).toHaveLength(2);
      // Padded base64url, as Label Studio's urlsafe_b64decode requires.
      expect(Buffer.from(presign[1]!.query.fileuri!, 'base64url').toString()).toBe(uri);
      expect(presign[1]!.headers.authorization).toBe(`Token ${TOKEN}`);
      expect(ls.bucketRequests).toHaveLength(1);
      expect(ls.bucketRequests[0]!.headers.authorization).toBeUndefined();
    },
  );

  it('needs a task id for cloud URIs', async () => {
    const ls = await fakeLs({ files: { 's3://bucket/a.txt': 'a' } });

    const error = await rejectionOf(resolverFor(ls).getLocalPath('s3://bucket/a.txt'));

    expect(error).toBeInstanceOf(TaskFileError);
    expect(error).toMatchObject({ code: 'missing_task_id' });
    expect((error as Error).message).toMatch(/task id is required/);
    expect(ls.requests).toHaveLength(0);
  });

  it('sends the token to an absolute URL on the Label Studio host, as Bearer for a JWT', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ token_type: 'access' })}.c2ln`;
    const ls = await startFakeLabelStudio({ token: jwt, files: { '/media/e.txt': 'e' } });
    servers.push(ls);

    const file = await resolverFor(ls, { token: jwt }).getLocalPath(`${ls.url}/media/e.txt`);

    await expectCachedFile(file, 'e');
    expect(ls.requests[0]!.headers.authorization).toBe(`Bearer ${jwt}`);
  });

  it('downloads from an allowed host without sending the token there', async () => {
    const ls = await fakeLs();
    const cdn = await foreignHost({ files: { '/img/f.txt': 'from the cdn' } });

    const file = await resolverFor(ls, { allowedHosts: [cdn.host] }).getLocalPath(`${cdn.url}/img/f.txt`);

    await expectCachedFile(file, 'from the cdn');
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('matches allowed hosts by hostname (any port) and by *.domain', async () => {
    const cdn = await foreignHost({ files: { '/g.txt': 'g' } });

    const byHostname = new TaskFileResolver({ cacheDir, allowedHosts: ['127.0.0.1'] });
    await expectCachedFile(await byHostname.getLocalPath(`${cdn.url}/g.txt`), 'g');

    const wildcard = new TaskFileResolver({ cacheDir, allowedHosts: ['*.0.0.1'] });
    expect(await readFile(await wildcard.getLocalPath(`${cdn.url}/g.txt`), 'utf8')).toBe('g');

    const otherDomain = new TaskFileResolver({ cacheDir, allowedHosts: ['*.example.com', '127.0.0.1:1'] });
    await expect(otherDomain.getLocalPath(`${cdn.url}/g.txt?v=2`)).rejects.toMatchObject({ code: 'host_not_allowed' });
  });

  it('refuses a foreign host without sending it anything', async () => {
    const ls = await fakeLs();
    const foreign = await foreignHost({ files: { '/secret.txt': 'internal' } });

    const error = await rejectionOf(resolverFor(ls).getLocalPath(`${foreign.url}/secret.txt`));

    expect(error).toBeInstanceOf(TaskFileError);
    expect(error).toMatchObject({ code: 'host_not_allowed' });
    expect((error as Error).message).toContain(foreign.host);
    expect(foreign.requests).toHaveLength(0);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('refuses a redirect from Label Studio to a foreign host', async () => {
    const foreign = await foreignHost({ files: { '/latest/meta-data': 'credentials' } });
    const ls = await fakeLs({ redirects: { '/media/jump.txt': `${foreign.url}/latest/meta-data` } });

    const error = await rejectionOf(resolverFor(ls).getLocalPath(`${ls.url}/media/jump.txt`));

    expect(error).toMatchObject({ code: 'host_not_allowed' });
    expect((error as Error).message).toMatch(/redirected/);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(ls.requests).toHaveLength(1);
    expect(foreign.requests).toHaveLength(0);
  });

  it('follows a redirect to an allowed host, dropping the token on the way', async () => {
    const cdn = await foreignHost({ files: { '/h.txt': 'h' } });
    const ls = await fakeLs({ redirects: { '/media/h.txt': `${cdn.url}/h.txt` } });

    const file = await resolverFor(ls, { allowedHosts: [cdn.host] }).getLocalPath(`${ls.url}/media/h.txt`);

    await expectCachedFile(file, 'h');
    expect(ls.requests[0]!.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('gives up after 5 redirects', async () => {
    const ls = await fakeLs({ redirects: { '/loop': '/loop' } });

    const error = await rejectionOf(resolverFor(ls).getLocalPath(`${ls.url}/loop`));

    expect(error).toMatchObject({ code: 'too_many_redirects' });
    expect(ls.requests).toHaveLength(6);
  });

  it('refuses a file over the size cap (announced by Content-Length)', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/big.bin': Buffer.alloc(5_000, 1) } });

    const error = await rejectionOf(resolverFor(ls, { maxBytes: 4_096 }).getLocalPath('/data/upload/7/big.bin'));

    expect(error).toMatchObject({ code: 'too_large' });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('enforces the size cap while streaming a body without Content-Length, leaving no partial file', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/big.bin': Buffer.alloc(300_000, 2) }, omitContentLength: true });

    const error = await rejectionOf(resolverFor(ls, { maxBytes: 100_000 }).getLocalPath('/data/upload/7/big.bin'));

    expect(error).toMatchObject({ code: 'too_large' });
    expect(await readdir(cacheDir)).toEqual([]);

    // Exactly at the cap, the same chunked transfer is accepted.
    const file = await resolverFor(ls, { maxBytes: 300_000 }).getLocalPath('/data/upload/7/big.bin');
    expect((await readFile(file)).length).toBe(300_000);
  });

  it('stores a path-traversal-looking URL under a hashed name inside cacheDir', async () => {
    const url = '/data/upload/../../etc/passwd';
    const ls = await fakeLs({ files: { [url]: 'not the real passwd' } });

    const file = await resolverFor(ls).getLocalPath(url);

    await expectCachedFile(file, 'not the real passwd');
    expect(path.basename(file)).toMatch(/^[0-9a-f]{64}$/);
    expect(ls.requests[0]!.query.filepath).toBe('upload/../../etc/passwd');
    expect(await readdir(cacheDir)).toEqual([path.basename(file)]);
  });

  it('drops an unsafe extension', async () => {
    const ls = await fakeLs({ files: { '/media/x.j$p': 'x' } });

    const file = await resolverFor(ls).getLocalPath(`${ls.url}/media/x.j$p`);

    expect(path.basename(file)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reuses a cached file and shares concurrent downloads', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/a.txt': 'once' } });
    const resolver = resolverFor(ls);

    const [first, second] = await Promise.all([
      resolver.getLocalPath('/data/upload/7/a.txt'),
      resolver.getLocalPath('/data/upload/7/a.txt'),
    ]);
    const third = await resolverFor(ls).getLocalPath('/data/upload/7/a.txt'); // new resolver, same cacheDir

    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(ls.requests).toHaveLength(1);
  });

  it('rejects plain text and local filesystem paths without any request', async () => {
    const ls = await fakeLs();
    const resolver = resolverFor(ls);

    for (const value of ['this is text', '/home/user/123.jpg', 'c:\\test.jpg', '/etc/passwd']) {
      await expect(resolver.getLocalPath(value)).rejects.toMatchObject({ code: 'unsupported_url' });
    }
    expect(ls.requests).toHaveLength(0);
  });

  it('needs LABEL_STUDIO_URL for relative Label Studio paths', async () => {
    const resolver = new TaskFileResolver({ token: TOKEN, cacheDir });

    const error = await rejectionOf(resolver.getLocalPath('/data/upload/7/a.txt'));

    expect(error).toMatchObject({ code: 'not_configured' });
    expect((error as Error).message).toMatch(/LABEL_STUDIO_URL/);
  });

  it('says the token was refused, without the token, when Label Studio answers 401', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/a.txt': 'a' } });
    const wrongToken = 'wrong-token-never-in-messages-42';

    const error = await rejectionOf(resolverFor(ls, { token: wrongToken }).getLocalPath('/data/upload/7/a.txt'));

    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect((error as Error).message).toMatch(/refused the token/);
    expect((error as Error).message).not.toContain(wrongToken);
  });

  it('reports a missing file with its HTTP status', async () => {
    const ls = await fakeLs();

    const error = await rejectionOf(resolverFor(ls).getLocalPath('/data/local-files/?d=missing.txt'));

    expect(error).toMatchObject({ code: 'http', status: 404 });
  });

  it('reports an unreachable host as a network error with status 0', async () => {
    const closed = await startRecordingServer();
    await closed.close();

    const error = await rejectionOf(resolverFor(undefined, { allowedHosts: [closed.host] }).getLocalPath(`${closed.url}/a.txt`));

    expect(error).toMatchObject({ code: 'network', status: 0 });
  });

  it('times out a download that gets no answer', async () => {
    const ls = await fakeLs({ files: { '/data/upload/7/a.txt': 'late' }, delayMs: 2_000 });

    const error = await rejectionOf(resolverFor(ls, { timeoutMs: 100 }).getLocalPath('/data/upload/7/a.txt'));

    expect(error).toMatchObject({ code: 'timeout', status: 0 });
  });
});

describe('TaskFileResolver.preloadTaskData', () => {
  async function fixture() {
    const ls = await fakeLs({
      files: {
        '/data/upload/7/a.txt': 'text of a — ünïcode',
        '/data/local-files/?d=docs/b.txt': 'text of b',
        's3://bucket/c.txt': 'text of c',
      },
    });
    const resolver = resolverFor(ls, { allowedHosts: [ls.bucketHost] });
    const data = {
      text: 'this is text',
      sentence: 'see https://example.com/a.jpg for details',
      localPath: '/home/user/123.jpg',
      winPath: 'c:\\test.jpg',
      count: 3,
      ratio: 0.5,
      flag: true,
      nothing: null,
      doc: '/data/upload/7/a.txt',
      nested: {
        list: ['s3://bucket/c.txt', 'plain', 42, false, null, { deep: '/data/local-files?d=docs/b.txt' }],
        empty: {},
      },
    };
    return { ls, resolver, data };
  }

  it('replaces every file URL by the file text, recursively, leaving everything else as is', async () => {
    const { resolver, data } = await fixture();
    const before = structuredClone(data);

    const result = await resolver.preloadTaskData(data, { taskId: 5 });

    expect(result).toEqual({
      ...data,
      doc: 'text of a — ünïcode',
      nested: { list: ['text of c', 'plain', 42, false, null, { deep: 'text of b' }], empty: {} },
    });
    expect(data).toEqual(before); // a copy, the input is untouched
  });

  it("returns local paths with as: 'path' and bytes with as: 'buffer'", async () => {
    const { resolver } = await fixture();

    const paths = (await resolver.preloadTaskData({ doc: 'upload/7/a.txt' }, { as: 'path' })) as { doc: string };
    const buffers = (await resolver.preloadTaskData(['upload/7/a.txt'], { as: 'buffer' })) as Buffer[];

    await expectCachedFile(paths.doc, 'text of a — ünïcode');
    expect(Buffer.isBuffer(buffers[0])).toBe(true);
    expect(buffers[0]!.toString('utf8')).toBe('text of a — ünïcode');
  });

  it('keeps a __proto__ key as data', async () => {
    const { resolver } = await fixture();
    const data = JSON.parse('{"__proto__": {"polluted": "upload/7/a.txt"}}') as unknown;

    const result = (await resolver.preloadTaskData(data)) as Record<string, unknown>;

    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toEqual({ polluted: 'text of a — ünïcode' });
  });

  it('fails on a URL of a host that is not allowed instead of passing the URL off as content', async () => {
    const { resolver } = await fixture();
    const foreign = await foreignHost({ files: { '/x.txt': 'x' } });

    await expect(resolver.preloadTaskData({ text: `${foreign.url}/x.txt` })).rejects.toMatchObject({
      code: 'host_not_allowed',
    });
    expect(foreign.requests).toHaveLength(0);
  });
});
