/**
 * NonRetryableError is recognised by a brand, not by `instanceof`, so the runtime stops retrying when a
 * model built against another copy of the package throws it. (That the queues then fail the job at once
 * is tested in test/integration/pipeline/queue-behaviour.test.ts and end-to-end.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { NonRetryableError, isNonRetryableError } from '../../src/sdk/errors.js';

type ErrorsModule = typeof import('../../src/sdk/errors.js');

describe('NonRetryableError', () => {
  it('is an Error with its name, message and cause', () => {
    const cause = new Error('label config has no Choices');
    const err = new NonRetryableError('nothing to train', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('NonRetryableError');
    expect(err.message).toBe('nothing to train');
    expect(err.cause).toBe(cause);
    expect(String(err)).toBe('NonRetryableError: nothing to train');
  });

  it('is told apart from every other error', () => {
    expect(isNonRetryableError(new NonRetryableError('x'))).toBe(true);
    class NoLabels extends NonRetryableError {}
    expect(isNonRetryableError(new NoLabels('x'))).toBe(true);
    const lookalike = new Error('x');
    lookalike.name = 'NonRetryableError';
    for (const other of [lookalike, new TypeError('x'), { name: 'NonRetryableError', message: 'x' }, 'NonRetryableError', null, undefined]) {
      expect(isNonRetryableError(other)).toBe(false);
    }
  });

  it('is recognised when thrown by a second copy of the package', async () => {
    const url = `${new URL('../../src/sdk/errors.ts', import.meta.url).href}?second-copy`;
    const copy = (await import(/* @vite-ignore */ url)) as ErrorsModule;
    expect(copy.NonRetryableError).not.toBe(NonRetryableError);
    const foreign = new copy.NonRetryableError('no usable annotations');
    expect(foreign instanceof NonRetryableError).toBe(false);
    expect(isNonRetryableError(foreign)).toBe(true);
    expect(copy.isNonRetryableError(new NonRetryableError('x'))).toBe(true);
  });

  it('keeps its brand out of logs and JSON', () => {
    const err = new NonRetryableError('x');
    expect(Object.getOwnPropertySymbols(err)).toEqual([]);
    expect(JSON.stringify({ err })).toBe('{"err":{"name":"NonRetryableError"}}');
  });
});
