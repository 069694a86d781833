/**
 * Authentication as Label Studio uses it (docs/protocol.md, Transport): every MLApi call carries basic
 * auth when configured, but the auto-created event webhook carries nothing. The webhook policy
 * (src/server/routes/webhook.ts): WEBHOOK_SECRET → the X-Webhook-Secret header (or basic auth);
 * basic auth only → basic auth, or an event for a project an authenticated /setup registered with the
 * same `<id>.<created_ts>`; unknown actions are always answered 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, webhookFixture } from '../../fixtures/index.js';
import { basicAuthHeader, getJson, postJson, request, startTestServer, type TestServer } from '../../support/server.js';
import { expectJsonError, sendWebhook } from './helpers.js';

const USER = 'label-studio';
const PASS = 'basic-pass-7f3e2a';
const GOOD = basicAuthHeader(USER, PASS);
const SECRET = 'webhook-secret-0b9d44';

function expectUnauthorized(res: Awaited<ReturnType<typeof getJson>>): void {
  expectJsonError(res, 401, 'unauthorized');
}

describe('basic auth (BASIC_AUTH_USER/PASS)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BASIC_AUTH_USER: USER, BASIC_AUTH_PASS: PASS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/health without credentials → 401 JSON with a WWW-Authenticate challenge', async () => {
    const res = await getJson(`${server.url}/health`);
    expectUnauthorized(res);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
  });

  it.each([
    ['a wrong password', basicAuthHeader(USER, `${PASS}x`)],
    ['a wrong user', basicAuthHeader('admin', PASS)],
    ['an empty password', basicAuthHeader(USER, '')],
    ['no colon', { Authorization: `Basic ${Buffer.from(USER + PASS).toString('base64')}` }],
    ['a Bearer token', { Authorization: `Bearer ${PASS}` }],
    ['garbage', { Authorization: 'Basic !!!' }],
  ])('/health with %s → 401', async (_label, headers) => {
    expectUnauthorized(await getJson(`${server.url}/health`, headers));
  });

  it('/health, /setup, /predict, /versions and /metrics with the right credentials → 200', async () => {
    expect((await getJson(`${server.url}/health`, GOOD)).body).toEqual({ status: 'UP', model_class: 'KeywordChoices' });
    expect((await getJson(`${server.url}/`, GOOD)).status).toBe(200);
    const setup = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), project: '40.1777626013' }, GOOD);
    expect(setup.status, setup.text).toBe(200);
    expect((await postJson(`${server.url}/predict`, { ...fixture('predict-batch.json'), project: '40.1777626013' }, GOOD)).status).toBe(200);
    expect((await getJson(`${server.url}/versions`, GOOD)).status).toBe(200);
    expect((await getJson(`${server.url}/metrics`, GOOD)).status).toBe(200);
  });

  it.each(['/setup', '/predict'])('POST %s without credentials → 401 (nothing is registered)', async (route) => {
    const body = route === '/setup' ? { ...fixture('setup.json'), project: '41.1777626013' } : { ...fixture('predict-batch.json'), project: '41.1777626013' };
    expectUnauthorized(await postJson(`${server.url}${route}`, body));
    const versions = await getJson(`${server.url}/versions?project=41`, GOOD);
    expect(versions.body.projects).toEqual({});
  });

  describe('webhooks', () => {
    it.each(['tasks-created.json', 'project-created.json', 'project-deleted.json', 'label-link-created.json'])(
      'unknown action (%s) without credentials → 200 "Unknown event"',
      async (file) => {
        const res = await sendWebhook(server.url, webhookFixture(file));
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: 'Unknown event' });
      },
    );

    it('an event for a project no /setup registered, without credentials → 401', async () => {
      const res = await sendWebhook(server.url, webhookFixture('annotation-created.json'));
      expectUnauthorized(res);
      expect(res.body.message).toMatch(/not registered/);
    });

    it('the same event with basic credentials → 201', async () => {
      const res = await sendWebhook(server.url, { ...webhookFixture('annotation-created.json'), project: { ...webhookFixture('annotation-created.json').project, id: 13 } }, GOOD);
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({ status: 'ok', job: null });
    });

    it('START_TRAINING as Label Studio sends it (basic auth) → 201 with a job', async () => {
      const res = await sendWebhook(server.url, { ...webhookFixture('start-training.json'), project: { id: 14, label_config: '<View></View>' } }, GOOD);
      expect(res.status, res.text).toBe(201);
      expect(res.body).toEqual({ status: 'ok', job: expect.any(String) });
    });

    it('wrong basic credentials on a webhook for an unregistered project → 401', async () => {
      expectUnauthorized(await sendWebhook(server.url, webhookFixture('annotation-updated.json'), basicAuthHeader(USER, 'nope')));
    });

    describe('after an authenticated /setup registered project 12 (uid 12.1777626013)', () => {
      beforeAll(async () => {
        const res = await postJson(`${server.url}/setup`, fixture('setup.json'), GOOD);
        expect(res.status).toBe(200);
      });

      it.each(['annotation-created.json', 'annotation-updated.json', 'annotations-created.json', 'annotations-deleted.json', 'tasks-deleted.json', 'project-updated.json'])(
        'the event webhook (%s, no credentials, matching created_at) is accepted',
        async (file) => {
          const res = await sendWebhook(server.url, webhookFixture(file));
          expect(res.status, res.text).toBeLessThan(300);
          expect(res.body.status).toBe('ok');
        },
      );

      it('matching created_at is compared in whole seconds (Label Studio sends microseconds)', async () => {
        const event = webhookFixture('annotation-created.json');
        event.project.created_at = '2026-05-01T09:00:13.999999Z';
        expect((await sendWebhook(server.url, event)).status).toBe(201);
      });

      it.each([
        ['one second later', '2026-05-01T09:00:14.000000Z'],
        ['another day', '2026-05-02T09:00:13.000000Z'],
        ['missing', undefined],
        ['null', null],
        ['not a date', 'yesterday'],
      ])('created_at %s → 401 (another Label Studio project with the same id)', async (_label, createdAt) => {
        const event = webhookFixture('annotation-created.json');
        if (createdAt === undefined) delete event.project.created_at;
        else event.project.created_at = createdAt;
        const res = await sendWebhook(server.url, event);
        expectUnauthorized(res);
      });

      it('an unauthenticated event for another project id → 401', async () => {
        const event = webhookFixture('annotation-created.json');
        event.project.id = 99;
        expectUnauthorized(await sendWebhook(server.url, event));
      });
    });
  });
});

describe('WEBHOOK_SECRET', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WEBHOOK_SECRET: SECRET });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('no X-Webhook-Secret header → 401 JSON', async () => {
    const res = await sendWebhook(server.url, webhookFixture('start-training.json'));
    expectUnauthorized(res);
    expect(res.body.message).toMatch(/x-webhook-secret/i);
  });

  it.each([
    ['a wrong secret', `${SECRET}x`],
    ['a prefix of the secret', SECRET.slice(0, -1)],
    ['an empty header', ''],
  ])('%s → 401', async (_label, value) => {
    expectUnauthorized(await sendWebhook(server.url, webhookFixture('start-training.json'), { 'X-Webhook-Secret': value }));
  });

  it('the right X-Webhook-Secret → 201 (START_TRAINING) and 201 (ANNOTATION_CREATED)', async () => {
    const start = await sendWebhook(server.url, webhookFixture('start-training.json'), { 'X-Webhook-Secret': SECRET });
    expect(start.status, start.text).toBe(201);
    expect(start.body).toEqual({ status: 'ok', job: expect.any(String) });
    const created = await sendWebhook(server.url, webhookFixture('annotation-created.json'), { 'x-webhook-secret': SECRET });
    expect(created.status, created.text).toBe(201);
  });

  it('unknown actions need no secret → 200 "Unknown event"', async () => {
    const res = await sendWebhook(server.url, webhookFixture('tasks-created.json'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'Unknown event' });
  });

  it('the other routes stay open (no basic auth configured)', async () => {
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
  });
});

describe('WEBHOOK_SECRET together with basic auth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WEBHOOK_SECRET: SECRET, BASIC_AUTH_USER: USER, BASIC_AUTH_PASS: PASS });
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'), GOOD)).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a registered project is not enough: without the secret → 401', async () => {
    expectUnauthorized(await sendWebhook(server.url, webhookFixture('annotation-created.json')));
  });

  it('basic credentials (Start Training through MLApi) → 201', async () => {
    const res = await sendWebhook(server.url, webhookFixture('start-training.json'), GOOD);
    expect(res.status, res.text).toBe(201);
  });

  it('the secret header (event webhook with a header set in Label Studio) → 201', async () => {
    const res = await sendWebhook(server.url, webhookFixture('annotation-created.json'), { 'X-Webhook-Secret': SECRET });
    expect(res.status, res.text).toBe(201);
  });

  it('the secret does not open the other routes', async () => {
    const res = await request(`${server.url}/health`, { headers: { 'X-Webhook-Secret': SECRET } });
    expectUnauthorized(res);
  });
});
