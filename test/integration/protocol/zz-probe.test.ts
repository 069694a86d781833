import { it, expect } from 'vitest';
import { fixture } from '../../fixtures/index.js';
import { postJson, putJson, startTestServer } from '../../support/server.js';
import { trainFixtureProject } from './helpers.js';
it('probe', async () => {
  const server = await startTestServer();
  const { version: v1 } = await trainFixtureProject(server.url);
  await new Promise((r) => setTimeout(r, 200));
  let stale = 0; let delays: number[] = [];
  for (let i = 0; i < 40; i++) {
    const target = i % 2 === 0 ? 'KeywordChoices-v0' : null;
    const want = target ?? v1;
    await putJson(`${server.url}/projects/12/model-version`, { version: target });
    const t0 = performance.now();
    let v = (await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version;
    if (v !== want) { stale++; while (v !== want) v = (await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version; delays.push(performance.now() - t0); }
  }
  console.log('stale', stale, 'of 40; delays', delays.map((d) => d.toFixed(1)).join(','));
  await server.close();
}, 60000);
