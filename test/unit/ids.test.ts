/**
 * Ids: Label Studio's numeric ids are kept exactly or refused. Beyond 2^53 - 1 a JavaScript number rounds
 * ("9007199254740993" → 9007199254740992), which would merge two annotations or two projects.
 */
import { describe, expect, it } from 'vitest';
import { integerIdSchema, projectUidSchema } from '../../src/util/ids.js';

describe('integerIdSchema', () => {
  it.each([
    [12, 12],
    ['12', 12],
    ['007', 7],
    [0, 0],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('keeps %j as %d', (input, expected) => {
    expect(integerIdSchema.parse(input)).toBe(expected);
  });

  it.each(['9007199254740993', '9007199254740992', '99999999999999999999', 9007199254740992, 2 ** 64, -(2 ** 60)])(
    'refuses %j (outside the safe integer range) saying why',
    (input) => {
      const result = integerIdSchema.safeParse(input);
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]!.message).toMatch(/9007199254740991/);
    },
  );

  it.each([1.5, '1.5', '-1', '', 'abc', null, {}, true])('refuses %j', (input) => {
    expect(integerIdSchema.safeParse(input).success).toBe(false);
  });
});

describe('projectUidSchema', () => {
  it('keeps path-safe ids, numeric ones up to 2^53 - 1', () => {
    expect(projectUidSchema.parse('12.1777626013')).toBe('12.1777626013');
    expect(projectUidSchema.parse('9007199254740991.1777626013')).toBe('9007199254740991.1777626013');
    expect(projectUidSchema.parse('my-project')).toBe('my-project');
    expect(projectUidSchema.parse(12)).toBe('12');
  });

  it.each(['9007199254740993.1777626013', '9007199254740993', 9007199254740992])('refuses %j: webhooks could never name that project exactly', (input) => {
    const result = projectUidSchema.safeParse(input);
    expect(result.success).toBe(false);
  });
});
