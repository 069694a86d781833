import { describe, expect, it } from 'vitest';
import { statusOfState } from '../../src/pipeline/bull-queue.js';
import { formatJobId, parseJobId } from '../../src/util/job-id.js';

describe('job ids', () => {
  it('are `<project>.<n>` in both modes and parse back', () => {
    expect(formatJobId('12', 345)).toBe('12.345');
    expect(parseJobId('12.345')).toEqual({ projectId: '12', seq: 345 });
    expect(parseJobId('my_project-2.7')).toEqual({ projectId: 'my_project-2', seq: 7 });
  });

  it('refuse what is not one', () => {
    for (const bad of ['12', '.5', '12.', '12.x', '12.1e3', '12.-1', '']) expect(parseJobId(bad), bad).toBeUndefined();
  });
});

describe("BullMQ's states as our statuses", () => {
  it('maps its internal waiting states to `waiting` and keeps `delayed`', () => {
    expect(statusOfState('prioritized')).toBe('waiting');
    expect(statusOfState('waiting-children')).toBe('waiting');
    expect(statusOfState('waiting')).toBe('waiting');
    expect(statusOfState('wait')).toBe('waiting');
    expect(statusOfState('delayed')).toBe('delayed');
    for (const same of ['active', 'completed', 'failed'] as const) expect(statusOfState(same)).toBe(same);
  });
});
