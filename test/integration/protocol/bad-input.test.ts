/**
 * Bad input never crashes the server and never produces HTML: every refusal is a 4xx JSON `{error, message}`
 * naming the offending field, path-like ids never reach the file system, and model failures are 500 JSON
 * with a request id while the server keeps answering Label Studio.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/config.js';
import { TaskFileError } from '../../../src/labelstudio/files.js';
import { Model, type ModelClass, type Prediction, type Task } from '../../../src/sdk/index.js';
import { fixture, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { getJson, listTree, makeTempDir, postJson, request, startTestServer, type TestServer } from '../../support/server.js';
import { expectJsonError, sendWebhook } from './helpers.js';

async function expectHealthy(server: TestServer): Promise<void> {
  const res = await getJson(`${server.url}/health`);
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('UP');
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="&lol9;"/></Choices></View>`;

const EXTERNAL_ENTITY = `<?xml version="1.0"?>
<!DOCTYPE View [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="&xxe;"/></Choices></View>`;

/** 2^53 + 1: the smallest positive integer a JavaScript number cannot hold. */
const UNSAFE_ID = '9007199254740993';

/** `body` with the value at `keys` replaced. */
function withPath<T>(body: T, keys: Array<string | number>, value: unknown): T {
  let target = body as Record<string | number, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[keys.at(-1)!] = value;
  return body;
}

describe('malformed requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(['/setup', '/predict', '/webhook'])('invalid JSON on %s → 400 invalid_json', async (route) => {
    const res = await postJson(`${server.url}${route}`, '{"project": "12.1777626013", "schema": ');
    expectJsonError(res, 400, 'invalid_json', /JSON/);
    expect(res.body.request_id).toEqual(expect.any(String));
    await expectHealthy(server);
  });

  const CASES: Array<[route: string, label: string, body: () => unknown, field: string]> = [
    ['/predict', 'tasks: 5', () => ({ ...fixture('predict-batch.json'), tasks: 5 }), 'tasks'],
    ['/predict', 'tasks: ["not a task"]', () => ({ ...fixture('predict-batch.json'), tasks: ['not a task'] }), 'tasks'],
    ['/predict', 'label_config: 42', () => ({ ...fixture('predict-batch.json'), label_config: 42 }), 'label_config'],
    ['/predict', 'params.password: 7', () => ({ ...fixture('predict-batch.json'), params: { password: 7 } }), 'params.password'],
    ['/setup', 'project: {}', () => ({ ...fixture('setup.json'), project: {} }), 'project'],
    ['/setup', 'no schema', () => ({ ...fixture('setup.json'), schema: undefined }), 'schema'],
    ['/setup', 'schema: ["<View/>"]', () => ({ ...fixture('setup.json'), schema: ['<View/>'] }), 'schema'],
    ['/setup', 'no project', () => ({ ...fixture('setup.json'), project: undefined }), 'project'],
    ['/webhook', 'START_TRAINING with project: {}', () => ({ ...webhookFixture('start-training.json'), project: {} }), 'project.id'],
    ['/webhook', 'no action', () => ({ ...webhookFixture('start-training.json'), action: undefined }), 'action'],
    ['/webhook', 'action: 5', () => ({ ...webhookFixture('start-training.json'), action: 5 }), 'action'],
    ['/webhook', 'TASKS_DELETED with tasks: "all"', () => ({ ...webhookFixture('tasks-deleted.json'), tasks: 'all' }), 'tasks'],
    ['/webhook', 'ANNOTATION_CREATED without annotation.id', () => ({ ...webhookFixture('annotation-created.json'), annotation: { result: [] } }), 'annotation.id'],
    // Ids beyond 2^53 - 1 would be rounded (…993 → …992) and two annotations or projects would merge.
    ['/webhook', `annotation.id "${UNSAFE_ID}"`, () => withPath(webhookFixture('annotation-created.json'), ['annotation', 'id'], UNSAFE_ID), 'annotation.id'],
    ['/webhook', `annotation.id ${UNSAFE_ID} as a number`, () => withPath(webhookFixture('annotation-created.json'), ['annotation', 'id'], 2 ** 53), 'annotation.id'],
    ['/webhook', `annotation.task "${UNSAFE_ID}"`, () => withPath(webhookFixture('annotation-created.json'), ['annotation', 'task'], UNSAFE_ID), 'annotation.task'],
    ['/webhook', `task.id "${UNSAFE_ID}"`, () => withPath(webhookFixture('annotation-created.json'), ['task', 'id'], UNSAFE_ID), 'task.id'],
    ['/webhook', `project.id "${UNSAFE_ID}"`, () => withPath(webhookFixture('start-training.json'), ['project', 'id'], UNSAFE_ID), 'project.id'],
    ['/webhook', `TASKS_DELETED tasks[0].id "${UNSAFE_ID}"`, () => withPath(webhookFixture('tasks-deleted.json'), ['tasks', 0, 'id'], UNSAFE_ID), 'tasks.0.id'],
    ['/predict', `tasks[0].id "${UNSAFE_ID}"`, () => withPath(fixture('predict-batch.json'), ['tasks', 0, 'id'], UNSAFE_ID), 'tasks.0.id'],
    ['/setup', `project "${UNSAFE_ID}.1777626013"`, () => ({ ...fixture('setup.json'), project: `${UNSAFE_ID}.1777626013` }), 'project'],
  ];

  it.each(CASES)('%s with %s → 400 naming `%s`', async (route, _label, body, field) => {
    const res = await postJson(`${server.url}${route}`, body());
    expectJsonError(res, 400, 'invalid_request');
    // The message starts each issue with its dotted path; `details` carries the path as a list.
    expect(res.body.message).toMatch(new RegExp(`(^|; )${field.replace('.', '\\.')}(\\.|:)`));
    expect(res.body.details.some((d: { path: unknown[] }) => d.path.join('.').startsWith(field))).toBe(true);
    await expectHealthy(server);
  });

  it.each([
    ['null', 'null'],
    ['a list', '[]'],
    ['a string', '"hello"'],
  ])('/setup with %s as the body → 400 JSON', async (_label, raw) => {
    const res = await postJson(`${server.url}/setup`, raw);
    expectJsonError(res, 400);
    await expectHealthy(server);
  });

  it.each([
    ['a billion-laughs DOCTYPE', BILLION_LAUGHS],
    ['an external entity', EXTERNAL_ENTITY],
    ['broken XML', '<View><Text name="text" value="$text"></View>'],
  ])('/setup with %s in the schema → 400 invalid_label_config, answered fast', async (_label, schema) => {
    const res = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), project: '31.1777626013', schema });
    expectJsonError(res, 400, 'invalid_label_config');
    expect(res.text).not.toContain('root:'); // nothing of /etc/passwd
    expect(res.ms).toBeLessThan(1_000);
    // A refused config is not stored: the project does not exist afterwards.
    const versions = await getJson(`${server.url}/versions?project=31`);
    expect(versions.body.projects).toEqual({});
    await expectHealthy(server);
  });

  it('/predict with a billion-laughs label_config → 400 invalid_label_config', async () => {
    const res = await postJson(`${server.url}/predict`, { ...fixture('predict-batch.json'), label_config: BILLION_LAUGHS });
    expectJsonError(res, 400, 'invalid_label_config');
    await expectHealthy(server);
  });

  it('PROJECT_UPDATED carrying a billion-laughs config is acknowledged fast and does not replace the working config', async () => {
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'))).status).toBe(200);
    const event = webhookFixture('project-updated.json');
    event.project.label_config = BILLION_LAUGHS;
    const res = await sendWebhook(server.url, event);
    expect(res.status, res.text).toBeLessThan(500);
    expect(res.ms).toBeLessThan(1_000);
    const predict = await postJson(`${server.url}/predict`, { ...fixture('predict-batch.json'), label_config: undefined });
    expect(predict.status, predict.text).toBe(200);
    expect(predict.body.results[0].result[0].value.choices).toEqual(['Positive']);
  });

  it.each([
    ['GET', '/nope'],
    ['POST', '/train'],
    ['POST', '/job_status'],
    ['GET', '/setup'],
    ['DELETE', '/health'],
  ])('%s %s (no such route) → 404 JSON', async (method, route) => {
    const res = await request(`${server.url}${route}`, { method, body: method === 'GET' || method === 'DELETE' ? undefined : '{}', headers: { 'Content-Type': 'application/json' } });
    expectJsonError(res, 404, 'not_found', new RegExp(route.replace('/', '\\/')));
  });
});

describe('oversized bodies (BODY_LIMIT=1kb)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BODY_LIMIT: '1kb' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(['/predict', '/setup', '/webhook'])('%s with a 2 KB body → 413 JSON naming the limit', async (route) => {
    const res = await postJson(`${server.url}${route}`, { ...fixture('setup.json'), padding: 'x'.repeat(2048) });
    expectJsonError(res, 413, 'payload_too_large', /1024/);
    await expectHealthy(server);
  });

  it('a body under the limit is accepted', async () => {
    const res = await postJson(`${server.url}/setup`, { project: '1.1000000000', schema: '<View></View>' });
    expect(res.status, res.text).toBe(200);
  });
});

/** `levels` nested `{"a": …}` objects around `leaf`, as raw JSON (`JSON.stringify` itself overflows on these). */
const deepJson = (levels: number, leaf = '1') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);

/** `body` serialised with the value at `keys` replaced by the raw JSON `raw`. */
function withRawJson(body: unknown, keys: Array<string | number>, raw: string): string {
  return JSON.stringify(withPath(body, keys, '@@RAW@@')).replace('"@@RAW@@"', () => raw);
}

describe('deeply nested JSON (JSON_MAX_DEPTH, default 64)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  // Each of these overflowed the stack somewhere behind the parser (zod's recursive JSON schema, the
  // annotation store's JSON.stringify, BullMQ, a model) and answered 500, or 201 and then a failing job.
  const DEEP: Array<[route: string, label: string, body: () => string, path: Array<string | number>]> = [
    ['/setup', 'extra_params nested 3,000 levels', () => withRawJson(fixture('setup.json'), ['extra_params'], deepJson(3_000)), ['extra_params']],
    ['/webhook', 'ANNOTATION_CREATED with task.data nested 100,000 levels', () => withRawJson(webhookFixture('annotation-created.json'), ['task', 'data', 'text'], deepJson(100_000)), ['task', 'data', 'text']],
    ['/webhook', 'ANNOTATION_CREATED with annotation.result nested 100,000 levels', () => withRawJson(webhookFixture('annotation-created.json'), ['annotation', 'result', 0, 'value'], deepJson(100_000)), ['annotation', 'result', 0, 'value']],
    ['/webhook', 'START_TRAINING with a deep field in project', () => withRawJson(webhookFixture('start-training.json'), ['project', 'extra'], deepJson(100_000)), ['project', 'extra']],
    ['/predict', 'tasks[0].data.text nested 100,000 levels', () => withRawJson(fixture('predict-batch.json'), ['tasks', 0, 'data', 'text'], deepJson(100_000)), ['tasks', 0, 'data', 'text']],
    ['/predict', 'a body of 100,000 nested lists', () => '['.repeat(100_000) + ']'.repeat(100_000), [0, 0, 0]],
  ];

  it.each(DEEP)('%s with %s → 400 json_too_deep naming the path', async (route, _label, body, path) => {
    const res = await postJson(`${server.url}${route}`, body());
    expectJsonError(res, 400, 'json_too_deep', new RegExp(`deeper than 64 levels \\(JSON_MAX_DEPTH\\) at ${path.join('\\.')}\\.`));
    expect(res.body.details).toHaveLength(1);
    expect(res.body.details[0].path).toHaveLength(64);
    expect(res.body.details[0].path.slice(0, path.length)).toEqual(path);
    await expectHealthy(server);
  });

  it('a body exactly at the limit is served, one level deeper is refused', async () => {
    // The body is one level, extra_params' value the rest.
    const atLimit = await postJson(`${server.url}/setup`, withRawJson(fixture('setup.json'), ['extra_params'], deepJson(63)));
    expect(atLimit.status, atLimit.text).toBe(200);
    const over = await postJson(`${server.url}/setup`, withRawJson(fixture('setup.json'), ['extra_params'], deepJson(64)));
    expectJsonError(over, 400, 'json_too_deep', /at extra_params(\.a){63}$/);
  });

  it('a START_TRAINING with a deep field starts no job', async () => {
    const res = await sendWebhook(server.url, withRawJson(webhookFixture('start-training.json'), ['project', 'extra'], deepJson(1_000)));
    expectJsonError(res, 400, 'json_too_deep');
    const stats = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(stats.status === 404 || (stats.body.lastJob === null && stats.body.eventsReceived === 0), stats.text).toBe(true);
  });
});

describe(`JSON_MAX_DEPTH at its cap (${MAX_JSON_DEPTH})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ JSON_MAX_DEPTH: String(MAX_JSON_DEPTH) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the deepest allowed bodies get through /setup and a stored webhook', async () => {
    const setup = await postJson(`${server.url}/setup`, withRawJson(fixture('setup.json'), ['extra_params'], deepJson(MAX_JSON_DEPTH - 1)));
    expect(setup.status, setup.text).toBe(200);
    // body → task → data → text: three levels before the nested value.
    const event = withRawJson(webhookFixture('annotation-created.json'), ['task', 'data', 'text'], deepJson(MAX_JSON_DEPTH - 3));
    const stored = await sendWebhook(server.url, event);
    expect(stored.status, stored.text).toBeLessThan(300);
    const over = await postJson(`${server.url}/setup`, withRawJson(fixture('setup.json'), ['extra_params'], deepJson(MAX_JSON_DEPTH)));
    expectJsonError(over, 400, 'json_too_deep', new RegExp(`${MAX_JSON_DEPTH} levels`));
  });
});

describe('unreadable requests: percent-encoding and content encodings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each([
    ['GET', '/jobs/%ZZ'],
    ['GET', '/projects/%E0%A4%A/stats'],
    ['GET', '/projects/%ZZ/versions'],
    ['PUT', '/projects/%ZZ/model-version'],
  ])('%s %s (malformed percent-encoding) → 400 invalid_path', async (method, route) => {
    const res = await request(`${server.url}${route}`, { method, body: method === 'PUT' ? '{"version":null}' : undefined, headers: { 'Content-Type': 'application/json' } });
    expectJsonError(res, 400, 'invalid_path', /malformed percent-encoding/);
    expect(res.body.message).toContain(route.split('/')[2]);
    await expectHealthy(server);
  });

  it('GET /versions?project=%ZZ → 400 naming project', async () => {
    expectJsonError(await getJson(`${server.url}/versions?project=%ZZ`), 400, 'invalid_request', /^project:/);
  });

  const send = (encoding: string, body: Buffer | string, contentType = 'application/json') =>
    request(`${server.url}/setup`, { method: 'POST', body, headers: { 'Content-Type': contentType, 'Content-Encoding': encoding } });
  const setupBody = () => JSON.stringify(fixture('setup.json'));

  it.each([
    ['br', () => Buffer.from('not brotli at all')],
    ['gzip', () => Buffer.from('not gzip')],
    ['gzip', () => zlib.gzipSync(setupBody()).subarray(0, 20)],
    ['deflate', () => Buffer.from('not deflate')],
  ])('a body that is not valid %s → 400 invalid_encoding', async (encoding, body) => {
    const res = await send(encoding, body());
    expectJsonError(res, 400, 'invalid_encoding', new RegExp(`not valid ${encoding} data`));
    await expectHealthy(server);
  });

  it.each([
    ['gzip', (raw: string) => zlib.gzipSync(raw)],
    ['br', (raw: string) => zlib.brotliCompressSync(raw)],
    ['deflate', (raw: string) => zlib.deflateSync(raw)],
  ])('a valid %s body is read', async (encoding, compress) => {
    const res = await send(encoding, compress(setupBody()));
    expect(res.status, res.text).toBe(200);
  });

  it.each(['compress', 'gzip, br'])('Content-Encoding "%s" (unsupported) → 415 unsupported_encoding', async (encoding) => {
    expectJsonError(await send(encoding, setupBody()), 415, 'unsupported_encoding', /identity, gzip, deflate or br/);
  });

  it('an unknown charset → 415 unsupported_charset', async () => {
    expectJsonError(await send('identity', setupBody(), 'application/json; charset=klingon'), 415, 'unsupported_charset', /KLINGON/);
  });
});

describe('path-like project ids', () => {
  let parent: string;
  let server: TestServer;
  let before: string[];
  const modelDirName = 'model';
  beforeAll(async () => {
    parent = makeTempDir('ls-ml-paths-');
    server = await startTestServer({ MODEL_DIR: path.join(parent, modelDirName) });
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'))).status).toBe(200);
    before = listTree(parent);
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  const BAD_IDS = ['../../etc', '..%2F..', 'a/b', '..', '.', '/etc/passwd', 'a\\b', '%00', 'x'.repeat(65)];

  it.each(BAD_IDS)('/setup with project "%s.1777626013" → 400 naming `project`', async (id) => {
    const res = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), project: `${id}.1777626013` });
    expectJsonError(res, 400, 'invalid_request', /^project:/);
  });

  it.each(BAD_IDS)('/predict with project %j → 400 naming `project`', async (id) => {
    const res = await postJson(`${server.url}/predict`, { ...fixture('predict-batch.json'), project: id });
    expectJsonError(res, 400, 'invalid_request', /^project:/);
  });

  // "." and ".." are resolved away by the URL parser before a request is even sent.
  const URL_SAFE_BAD_IDS = BAD_IDS.filter((id) => id !== '.' && id !== '..');

  it.each(URL_SAFE_BAD_IDS)('GET /projects/<%s URL-encoded>/stats → 400', async (id) => {
    const res = await getJson(`${server.url}/projects/${encodeURIComponent(id)}/stats`);
    expectJsonError(res, 400, 'invalid_request', /\bid\b/);
  });

  it.each(BAD_IDS)('GET /versions?project=<%s URL-encoded> → 400', async (id) => {
    const res = await getJson(`${server.url}/versions?project=${encodeURIComponent(id)}`);
    expectJsonError(res, 400, 'invalid_request', /project/);
  });

  it('a webhook whose project id is not a number → 400 naming `project.id`', async () => {
    const event = webhookFixture('annotation-created.json');
    event.project.id = '../../etc';
    const res = await sendWebhook(server.url, event);
    expectJsonError(res, 400, 'invalid_request', /project\.id/);
  });

  it('only the id part of a uid names the project: "12./../../etc" is project 12', async () => {
    const res = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), project: '12./../../etc' });
    expect(res.status, res.text).toBe(200);
    const versions = await getJson(`${server.url}/versions`);
    expect(Object.keys(versions.body.projects)).toEqual(['12']);
  });

  it('nothing was created outside MODEL_DIR', () => {
    const after = listTree(parent);
    const outside = after.filter((p) => !p.startsWith(`${modelDirName}/`) && !before.includes(p));
    expect(outside).toEqual([]);
    expect(after.filter((p) => /(^|\/)(etc|passwd|a)(\/|$)/.test(p))).toEqual([]);
    expect(fs.existsSync(path.join(parent, 'etc'))).toBe(false);
    expect(fs.existsSync(path.resolve(parent, '..', 'etc'))).toBe(false);
  });
});

class ThrowingModel extends Model {
  override predict(): Prediction[] {
    throw new Error('model exploded');
  }
}

class WrongCountModel extends Model {
  override predict(tasks: Task[]): Prediction[] {
    return [...tasks, ...tasks].map(() => ({ result: [], score: 0 }));
  }
}

/** A model whose task-file download failed: the error carries Label Studio's 404 in `status`. */
class UpstreamFailingModel extends Model {
  override predict(): Prediction[] {
    throw new TaskFileError('Label Studio answered HTTP 404 for "/data/upload/1/cat.png"', { code: 'http', status: 404 });
  }
}

class RefusingModel extends Model {
  override setup(): void {
    throw new Error('this model needs an <Image> tag');
  }
  override predict(tasks: Task[]): Prediction[] {
    return tasks.map(() => ({ result: [] }));
  }
}

describe('model failures', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const start = async (ModelClass: ModelClass) => {
    const server = await startTestServer({}, { ModelClass });
    servers.push(server);
    return server;
  };

  it('a predict that throws → 500 JSON with request_id (no stack, no model message), and the server stays up', async () => {
    const server = await start(ThrowingModel);
    const res = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expectJsonError(res, 500, 'internal_error');
    expect(res.body.request_id).toEqual(expect.any(String));
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
    expect(res.text).not.toMatch(/model exploded|at .*\.ts:\d+/);
    await expectHealthy(server);
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'))).status).toBe(200);
    // And again: one failure does not poison the next request.
    expect((await postJson(`${server.url}/predict`, fixture('predict-batch.json'))).status).toBe(500);
    await expectHealthy(server);
  });

  it('a predict returning two results per task → 500 JSON naming the contract violation', async () => {
    const server = await start(WrongCountModel);
    const res = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expectJsonError(res, 500, 'model_contract_violation', /10 results for 5 tasks/);
    expect(res.body.request_id).toEqual(expect.any(String));
    await expectHealthy(server);
  });

  it('a model error carrying an upstream `status` (404 from Label Studio) is still our 500, not the client’s 404', async () => {
    const server = await start(UpstreamFailingModel);
    const res = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expectJsonError(res, 500, 'internal_error');
    await expectHealthy(server);
  });

  it('a setup() that refuses the project → 422 JSON with the model’s reason, on /setup and /predict', async () => {
    const server = await start(RefusingModel);
    const setup = await postJson(`${server.url}/setup`, fixture('setup.json'));
    expectJsonError(setup, 422, 'model_setup_failed', /needs an <Image> tag/);
    const predict = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expectJsonError(predict, 422, 'model_setup_failed', /needs an <Image> tag/);
    await expectHealthy(server);
  });
});

describe('metrics labels stay bounded whatever the URL', () => {
  let server: TestServer;
  let open: TestServer;
  const AUTH = { BASIC_AUTH_USER: 'ls', BASIC_AUTH_PASS: 'pw' };
  const GOOD = { Authorization: `Basic ${Buffer.from('ls:pw').toString('base64')}` };
  beforeAll(async () => {
    server = await startTestServer(AUTH);
    open = await startTestServer();
  });
  afterAll(async () => {
    await Promise.all([server?.close(), open?.close()]);
  });

  it('requests refused before routing (401, bad JSON) never put their raw path into a metric label', async () => {
    // Scanners hit random paths; each distinct raw path as a label value is a new time series forever.
    expect((await getJson(`${server.url}/scanner-probe-a1b2c3/wp-login.php`)).status).toBe(401);
    expect((await postJson(`${open.url}/scanner-probe-d4e5f6`, '{not json')).status).toBe(400);
    expect((await getJson(`${open.url}/scanner-probe-g7h8i9`)).status).toBe(404);
    const metrics = [(await getJson(`${server.url}/metrics`, GOOD)).text, (await getJson(`${open.url}/metrics`)).text].join('\n');
    expect(metrics).toContain('http_request_duration_seconds_count');
    expect(metrics.split('\n').filter((l) => l.includes('scanner-probe'))).toEqual([]);
  });

  it('a 400 inside a route is labelled with the route pattern, not the id', async () => {
    expect((await getJson(`${open.url}/projects/${encodeURIComponent('../x')}/stats`)).status).toBe(400);
    const metrics = (await getJson(`${open.url}/metrics`)).text;
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/projects\/:id\/stats"[^}]*status="400"[^}]*\} 1/);
    expect(metrics).not.toContain('..%2Fx');
    expect(metrics).not.toContain('../x');
  });
});
