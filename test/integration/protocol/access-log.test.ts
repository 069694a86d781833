/**
 * The access log: one line per request with id, method, route pattern, status and duration, at the level
 * the request deserves (info; debug for a successful read such as /health, /metrics or the console's polling; error for a 5xx), and none at all when that
 * level is off. The request-duration histogram counts every request whatever the log level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { Model, type Prediction, type Task } from '../../../src/sdk/index.js';
import { fixture } from '../../fixtures/index.js';
import { getJson, postJson, startTestServer, type TestServer } from '../../support/server.js';

class FailsOnRequest extends Model {
  override predict(tasks: Task[]): Prediction[] {
    if (tasks.some((t) => t.data.fail === true)) throw new Error('predict failed on purpose');
    return tasks.map(() => ({ result: [], score: 0 }));
  }
}

type Line = Record<string, unknown>;

async function serverLoggingAt(level: string): Promise<{ server: TestServer; lines: () => Line[] }> {
  const chunks: string[] = [];
  const log = createLogger(level, { write: (line: string) => void chunks.push(line) });
  const server = await startTestServer({ LOG_LEVEL: level }, { log, ModelClass: FailsOnRequest });
  return { server, lines: () => chunks.map((c) => JSON.parse(c) as Line).filter((l) => l.msg === 'request' || l.msg === 'request failed') };
}

function failingPredict() {
  const body = fixture('predict-batch.json');
  body.tasks[0].data.fail = true;
  return body;
}

/** The histogram's request count for one route and status, read from /metrics. */
async function requestCount(url: string, route: string, status: number): Promise<number> {
  const text = (await getJson(`${url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith('http_request_duration_seconds_count') && l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('access log at LOG_LEVEL=info', () => {
  let server: TestServer;
  let lines: () => Line[];
  beforeAll(async () => ({ server, lines } = await serverLoggingAt('info')));
  afterAll(async () => server?.close());

  it('writes one info line per /predict with the id it answered, the route pattern, status and duration', async () => {
    const res = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{6}-\d+$/);
    await expect.poll(() => lines().filter((l) => l.reqId === id)).toHaveLength(1);
    const line = lines().find((l) => l.reqId === id)!;
    expect(line).toMatchObject({ level: 30, msg: 'request', method: 'POST', route: '/predict', status: 200 });
    expect(typeof line.ms).toBe('number');
    expect(line.ms as number).toBeGreaterThanOrEqual(0);
  });

  it('keeps a valid incoming X-Request-Id and replaces one that is not', async () => {
    const kept = await postJson(`${server.url}/predict`, fixture('predict-batch.json'), { 'X-Request-Id': 'ls-req.42' });
    expect(kept.headers.get('x-request-id')).toBe('ls-req.42');
    const replaced = await postJson(`${server.url}/predict`, fixture('predict-batch.json'), { 'X-Request-Id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{6}-\d+$/);
    await expect.poll(() => lines().some((l) => l.reqId === 'ls-req.42')).toBe(true);
  });

  it('logs a 5xx at error level as "request failed"', async () => {
    const res = await postJson(`${server.url}/predict`, failingPredict());
    expect(res.status).toBe(500);
    const id = res.headers.get('x-request-id');
    await expect.poll(() => lines().find((l) => l.reqId === id)).toMatchObject({ level: 50, msg: 'request failed', route: '/predict', status: 500 });
  });

  it.each(['/health', '/metrics', '/jobs', '/projects', '/versions'])('keeps a successful GET %s at debug level, so it writes nothing at info', async (path) => {
    const res = await getJson(`${server.url}${path}`);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    // A request sent after it is logged, so the read's line had its chance to appear first.
    const after = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    await expect.poll(() => lines().some((l) => l.reqId === after.headers.get('x-request-id'))).toBe(true);
    expect(lines().filter((l) => l.reqId === id)).toEqual([]);
  });

  it('logs a refused read at info level', async () => {
    const res = await getJson(`${server.url}/jobs/no-such-job`);
    expect(res.status).toBe(404);
    const id = res.headers.get('x-request-id');
    await expect.poll(() => lines().find((l) => l.reqId === id)).toMatchObject({ level: 30, msg: 'request', status: 404 });
  });
});

describe('access log at LOG_LEVEL=warn', () => {
  let server: TestServer;
  let lines: () => Line[];
  beforeAll(async () => ({ server, lines } = await serverLoggingAt('warn')));
  afterAll(async () => server?.close());

  it('writes no line for a successful request but still counts it in the histogram', async () => {
    const before = await requestCount(server.url, '/predict', 200);
    const res = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expect(res.status).toBe(200);
    await expect.poll(() => requestCount(server.url, '/predict', 200)).toBe(before + 1);
    expect(lines().filter((l) => l.reqId === res.headers.get('x-request-id'))).toEqual([]);
  });

  it('still writes the error line for a 5xx', async () => {
    const res = await postJson(`${server.url}/predict`, failingPredict());
    expect(res.status).toBe(500);
    await expect.poll(() => lines().find((l) => l.reqId === res.headers.get('x-request-id'))).toMatchObject({ level: 50, msg: 'request failed', status: 500 });
  });
});
