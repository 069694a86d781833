import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('LOG_FORMAT', () => {
  it('defaults to json and accepts pretty; anything else stops start-up naming the variable', () => {
    expect(loadConfig({}).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('pretty prints readable lines, not JSON, and still redacts secrets', async () => {
    const out = capture();
    const log = createLogger('info', out.stream, 'pretty');
    log.info({ projectId: '12', access_token: 'tok-3f9a1c', req: { headers: { authorization: 'Basic c2VjcmV0' } } }, 'training requested');
    await new Promise((resolve) => setImmediate(resolve));
    const text = out.text();
    expect(text).toContain('INFO');
    expect(text).toContain('training requested');
    expect(text).toContain('projectId: "12"');
    expect(text.trimStart().startsWith('{')).toBe(false);
    expect(text).not.toContain('tok-3f9a1c');
    expect(text).not.toContain('c2VjcmV0');
    expect(text).toContain('[redacted]');
  });

  it('json (the default) writes one object a line', async () => {
    const out = capture();
    createLogger('info', out.stream).info({ projectId: '12' }, 'hello');
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(out.text())).toMatchObject({ level: 30, projectId: '12', msg: 'hello' });
  });
});
