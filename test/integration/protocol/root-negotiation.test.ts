/**
 * `/` serves two audiences: Label Studio and API clients get the same JSON as `/health`, byte for byte and
 * whatever Accept they send; a browser (HTML first in Accept) gets the web console. Both behind basic auth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader, request, startTestServer, type TestServer } from '../../support/server.js';

const AUTH = basicAuthHeader('ls', 'secret-pass');
/** What `/` and `/health` answered before the console existed. */
const HEALTH_JSON = '{"status":"UP","model_class":"KeywordChoices"}';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ BASIC_AUTH_USER: 'ls', BASIC_AUTH_PASS: 'secret-pass' });
});
afterAll(async () => {
  await server?.close();
});

describe('GET / content negotiation', () => {
  // No Accept header (Python requests sends */*), curl, an explicit JSON client, one that takes both equally.
  for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/plain, */*', 'text/html;q=0.5, application/json']) {
    it(`answers the /health JSON byte for byte to Accept: ${accept ?? '(none)'}`, async () => {
      for (const route of ['/', '/health']) {
        const res = await request(`${server.url}${route}`, { headers: { ...AUTH, ...(accept ? { Accept: accept } : {}) } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(res.text).toBe(HEALTH_JSON);
      }
    });
  }

  it('gives a browser the console page, which loads its script, styles and chart library from this server', async () => {
    const res = await request(`${server.url}/`, { headers: { ...AUTH, Accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('vary')).toBe('Accept');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.text).toContain('<title>ls-ml-backend console</title>');
    const refs = [...res.text.matchAll(/(?:src|href)="(console\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.sort()).toEqual(['console/app.js', 'console/console.css', 'console/uPlot.min.css']);
    for (const ref of [...refs, 'console/uPlot.esm.js']) {
      const asset = await request(`${server.url}/${ref}`, { headers: AUTH });
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get('content-type'), ref).toMatch(ref.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(asset.text.length, ref).toBeGreaterThan(100);
    }
    // The script imports the chart library by the path this server serves it at: no CDN, works offline.
    const app = await request(`${server.url}/console/app.js`, { headers: AUTH });
    expect(app.text).toMatch(/from '\.\/uPlot\.esm\.js'/);
    expect(app.text).not.toMatch(/https?:\/\//);
  });

  it('keeps the page and its files behind basic auth', async () => {
    for (const [route, accept] of [['/', BROWSER_ACCEPT], ['/console/app.js', '*/*'], ['/console/uPlot.esm.js', '*/*']] as const) {
      const res = await request(`${server.url}${route}`, { headers: { Accept: accept } });
      expect(res.status, route).toBe(401);
      expect(res.body, route).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('answers an unknown console file with a JSON 404, never a file outside the list', async () => {
    for (const route of ['/console/index.html', '/console/..%2Fpackage.json', '/console/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const res = await request(`${server.url}${route}`, { headers: AUTH });
      expect(res.status, route).toBe(404);
      expect(res.body, route).toMatchObject({ error: 'not_found' });
    }
  });
});
