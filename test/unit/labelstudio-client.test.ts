import { afterEach, describe, expect, it } from 'vitest';
import { authorizationHeader, isJwt, isLabelStudioOrigin, redactSecret } from '../../src/labelstudio/auth.js';
import { LABELED_TASKS_QUERY, LabelStudioClient, LabelStudioError } from '../../src/labelstudio/client.js';
import {
  startFakeLabelStudio,
  startRecordingServer,
  type FakeLabelStudio,
  type FakeLabelStudioOptions,
  type RecordingServer,
} from '../support/fake-label-studio.js';
import { rejectionOf } from '../support/promises.js';

const TOKEN = 'ls-legacy-token-5f2c9a7d41';
const PROJECT = 7;

/** A JWT-shaped token (unsigned content does not matter: only Label Studio verifies it). */
function makeJwt(payload: object = { token_type: 'access', user_id: 1 }): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.c2lnbmF0dXJl`;
}

function annotation(id: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    result: [{ id: `r${id}`, from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }],
    was_cancelled: false,
    ground_truth: false,
    created_at: '2026-05-01T10:05:00.000000Z',
    updated_at: '2026-05-01T10:06:00.000000Z',
    completed_by: 1,
    ...extra,
  };
}

function labeledTask(id: number, extra: Record<string, unknown> = {}) {
  return { id, data: { text: `task ${id}` }, annotations: [annotation(id * 10)], predictions: [], ...extra };
}

const servers: Array<FakeLabelStudio | RecordingServer> = [];

async function fakeLs(options: FakeLabelStudioOptions): Promise<FakeLabelStudio> {
  const ls = await startFakeLabelStudio({ token: TOKEN, ...options });
  servers.push(ls);
  return ls;
}

function taskRequests(ls: FakeLabelStudio) {
  return ls.requests.filter((r) => r.path === '/api/tasks');
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('authorizationHeader', () => {
  it('uses Bearer for a well-formed JWT and Token for anything else', () => {
    const jwt = makeJwt();
    expect(authorizationHeader(jwt)).toBe(`Bearer ${jwt}`);
    expect(authorizationHeader(TOKEN)).toBe(`Token ${TOKEN}`);
    expect(authorizationHeader(`  ${TOKEN}\n`)).toBe(`Token ${TOKEN}`);
  });

  it('does not mistake dotted strings for JWTs', () => {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(isJwt('a.b.c')).toBe(false); // header is not JSON
    expect(isJwt(`${part({ typ: 'JWT' })}.${part({})}.sig`)).toBe(false); // no alg
    expect(isJwt(`${part({ alg: 'HS256' })}.${part({})}`)).toBe(false); // two segments
    expect(isJwt(`${part({ alg: 'HS256' })}.${part({})}.si+g`)).toBe(false); // not base64url
    expect(isJwt(`${part({ alg: 'HS256' })}.${part({})}.sig`)).toBe(true);
  });

  it('redacts a secret from text', () => {
    expect(redactSecret(`echo ${TOKEN} twice ${TOKEN}`, TOKEN)).toBe('echo [redacted] twice [redacted]');
    expect(redactSecret('nothing', undefined)).toBe('nothing');
  });

  it('treats only the same origin, or its https upgrade, as Label Studio', () => {
    const base = new URL('http://ls.example:8080/prefix');
    expect(isLabelStudioOrigin(new URL('http://ls.example:8080/api'), base)).toBe(true);
    expect(isLabelStudioOrigin(new URL('https://ls.example/api'), base)).toBe(true);
    expect(isLabelStudioOrigin(new URL('http://ls.example:9090/api'), base)).toBe(false);
    expect(isLabelStudioOrigin(new URL('http://other.example:8080/api'), base)).toBe(false);
    expect(isLabelStudioOrigin(new URL('http://ls.example/api'), new URL('https://ls.example'))).toBe(false);
  });
});

describe('LabelStudioClient.fetchLabeledTasks', () => {
  it('pages through every page until the 404 past the last one, with the SDK query', async () => {
    const tasks = [1, 2, 3, 4, 5].map((id) => labeledTask(id));
    const ls = await fakeLs({ tasks: { [PROJECT]: tasks } });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });
    const pages: number[] = [];

    const result = await client.fetchLabeledTasks(PROJECT, { pageSize: 2, onPage: (n) => pages.push(n) });

    expect(result.map((t) => t.id)).toEqual([1, 2, 3, 4, 5]);
    expect(pages).toEqual([1, 2, 3]);
    const requests = taskRequests(ls);
    expect(requests.map((r) => r.query.page)).toEqual(['1', '2', '3', '4']); // page 4 is the 404
    expect(ls.pagesServed()).toBe(3);
    for (const r of requests) {
      expect(r.method).toBe('GET');
      expect(r.query).toMatchObject({ project: String(PROJECT), page_size: '2', fields: 'all' });
      expect(JSON.parse(r.query.query!)).toEqual(LABELED_TASKS_QUERY);
    }
  });

  it('asks only for labeled tasks (the completed_at filter reaches the server)', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1), { id: 2, data: {}, annotations: [] }, labeledTask(3)] } });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const result = await client.fetchLabeledTasks(PROJECT);

    expect(result.map((t) => t.id)).toEqual([1, 3]);
  });

  it('stops at an empty page', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1), labeledTask(2)] }, pastLastPage: 'empty' });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const result = await client.fetchLabeledTasks(PROJECT, { pageSize: 1 });

    expect(result.map((t) => t.id)).toEqual([1, 2]);
    expect(ls.pagesServed()).toBe(3); // 2 pages of tasks + the empty one
    expect(taskRequests(ls)).toHaveLength(3);
  });

  it('returns nothing for a project without labeled tasks after a single request', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [] } });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    expect(await client.fetchLabeledTasks(PROJECT)).toEqual([]);
    expect(taskRequests(ls)).toHaveLength(1);
  });

  it('accepts the bare-array response shape', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1), labeledTask(2), labeledTask(3)] }, responseShape: 'array' });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const result = await client.fetchLabeledTasks(PROJECT, { pageSize: 2 });

    expect(result.map((t) => t.id)).toEqual([1, 2, 3]);
  });

  it('keeps paging when the server caps the page size (short pages are not the end)', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [1, 2, 3, 4, 5].map((id) => labeledTask(id)) }, maxPageSize: 2 });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const result = await client.fetchLabeledTasks(PROJECT, { pageSize: 100 });

    expect(result.map((t) => t.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('validates the used fields, applies defaults and passes everything else through', async () => {
    const task = {
      id: 9,
      data: { text: 'hi', image: '/data/upload/7/x.png' },
      meta: { source: 'import' },
      annotations: [
        { id: 1, result: null, created_at: '2026-05-01T00:00:00Z', lead_time: 3.5 },
        annotation(2, { completed_by: { id: 4, email: 'a@example.com' }, was_cancelled: true, ground_truth: true }),
      ],
    };
    const ls = await fakeLs({ tasks: { [PROJECT]: [task] } });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const [result] = await client.fetchLabeledTasks(PROJECT);

    expect(result).toMatchObject({ id: 9, data: task.data, meta: { source: 'import' } });
    expect(result!.annotations[0]).toMatchObject({ id: 1, result: [], was_cancelled: false, ground_truth: false, lead_time: 3.5 });
    expect(result!.annotations[1]).toMatchObject({ completed_by: { id: 4, email: 'a@example.com' }, was_cancelled: true, ground_truth: true });
  });

  it('rejects a task whose annotations lack an id, naming the field', async () => {
    const bad = { id: 3, data: {}, annotations: [{ result: [], created_at: '2026-05-01T00:00:00Z' }] };
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1), bad] } });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT));

    expect(error).toBeInstanceOf(LabelStudioError);
    expect(error).toMatchObject({ code: 'invalid_response' });
    expect((error as Error).message).toMatch(/item 1: annotations\.0\.id/);
  });

  it('turns 401 into a LabelStudioError saying the token was refused, without the token', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1)] } });
    const wrongToken = 'wrong-token-that-must-not-leak-77';
    const client = new LabelStudioClient({ baseUrl: ls.url, token: wrongToken });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT));

    expect(error).toBeInstanceOf(LabelStudioError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((error as Error).message).toMatch(/refused the token/);
    expect((error as Error).message).not.toContain(wrongToken);
    expect(taskRequests(ls)[0]!.headers.authorization).toBe(`Token ${wrongToken}`);
  });

  it('reports a server error with its status and scrubs the token from a quoted body', async () => {
    const ls = await fakeLs({
      tasks: { [PROJECT]: [labeledTask(1), labeledTask(2)] },
      fail: { status: 503, afterPages: 1, body: `upstream said: bad header Token ${TOKEN}` },
    });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT, { pageSize: 1 }));

    expect(error).toMatchObject({ status: 503, code: 'http' });
    expect((error as Error).message).toMatch(/page 2.*HTTP 503.*upstream said/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('reports an unreachable Label Studio as status 0', async () => {
    const closed = await startRecordingServer();
    await closed.close();
    const client = new LabelStudioClient({ baseUrl: closed.url, token: TOKEN });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT));

    expect(error).toBeInstanceOf(LabelStudioError);
    expect(error).toMatchObject({ status: 0, code: 'network' });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('times out a request that gets no answer', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1)] }, delayMs: 2_000 });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN, timeoutMs: 100 });

    const started = Date.now();
    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT));

    expect(error).toMatchObject({ status: 0, code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("rethrows the caller's abort reason instead of wrapping it", async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1)] }, delayMs: 2_000 });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 50);

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT, { signal: controller.signal }));

    expect(error).toBe(reason);
  });

  it('sends Bearer for a JWT and Token for a legacy token (as received by the server)', async () => {
    const jwt = makeJwt();
    const jwtLs = await fakeLs({ token: jwt, tasks: { [PROJECT]: [labeledTask(1)] } });
    const plainLs = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1)] } });

    await new LabelStudioClient({ baseUrl: jwtLs.url, token: jwt }).fetchLabeledTasks(PROJECT);
    await new LabelStudioClient({ baseUrl: plainLs.url, token: TOKEN }).fetchLabeledTasks(PROJECT);

    expect(taskRequests(jwtLs).map((r) => r.headers.authorization)).toEqual([`Bearer ${jwt}`, `Bearer ${jwt}`]);
    expect(taskRequests(plainLs).map((r) => r.headers.authorization)).toEqual([`Token ${TOKEN}`, `Token ${TOKEN}`]);
  });

  it('keeps a path prefix of the base URL', async () => {
    const proxy = await startRecordingServer(); // answers 404 to everything: an empty result
    servers.push(proxy);
    const client = new LabelStudioClient({ baseUrl: `${proxy.url}/label-studio/`, token: TOKEN });

    expect(await client.fetchLabeledTasks(PROJECT)).toEqual([]);
    expect(proxy.requests.map((r) => r.path)).toEqual(['/label-studio/api/tasks']);
  });

  it('does not follow a redirect to another host with the token', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1)] } });
    const movedHost = await startRecordingServer({ redirectPrefix: ls.url });
    servers.push(movedHost);
    const client = new LabelStudioClient({ baseUrl: movedHost.url, token: TOKEN });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT));

    expect(error).toMatchObject({ code: 'redirect', status: 302 });
    expect((error as Error).message).toContain(ls.url);
    expect(movedHost.requests).toHaveLength(1);
    expect(ls.requests).toHaveLength(0);
  });

  it('fails instead of looping forever when the server ignores the page parameter', async () => {
    const ls = await fakeLs({ tasks: { [PROJECT]: [labeledTask(1), labeledTask(2)] }, ignorePaging: true });
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    const error = await rejectionOf(client.fetchLabeledTasks(PROJECT, { pageSize: 2 }));

    expect(error).toMatchObject({ code: 'invalid_response' });
    expect(taskRequests(ls)).toHaveLength(2);
  });

  it('rejects a project id that is not an integer before any request', async () => {
    const ls = await fakeLs({});
    const client = new LabelStudioClient({ baseUrl: ls.url, token: TOKEN });

    await expect(client.fetchLabeledTasks('7&project=8')).rejects.toThrow(RangeError);
    expect(ls.requests).toHaveLength(0);
  });
});
