/**
 * The pure parts of version handling: which versions may serve (servingOrder), how failures are recorded
 * (settleVersions), and artifact verification against the recorded size and SHA-256.
 */
import { describe, expect, it } from 'vitest';
import { artifactProblem, sha256Of } from '../../src/runtime/artifact-check.js';
import { keepNewest, servableVersion, servingOrder, settleVersions, versionInfo, withStatuses } from '../../src/runtime/versions.js';
import type { ProjectVersions } from '../../src/store/types.js';

const doc = (current: string, bad: string[] = [], pinned = false): ProjectVersions => ({
  current,
  pinned,
  versions: ['M-v3', 'M-v2', 'M-v1', 'M-v0'].map((v) => versionInfo(v, bad.includes(v) ? { status: 'bad', error: 'broken' } : {})),
});

describe('servingOrder', () => {
  it('tries current first, then the other good versions newest first', () => {
    expect(servingOrder(doc('M-v3'))).toEqual(['M-v3', 'M-v2', 'M-v1', 'M-v0']);
    expect(servingOrder(doc('M-v1', [], true))).toEqual(['M-v1', 'M-v3', 'M-v2', 'M-v0']);
  });

  it('never offers a bad version, current included', () => {
    expect(servingOrder(doc('M-v3', ['M-v3', 'M-v1']))).toEqual(['M-v2', 'M-v0']);
    expect(servableVersion(doc('M-v3', ['M-v3']))).toBe('M-v2');
    expect(servingOrder(doc('M-v3', ['M-v3', 'M-v2', 'M-v1', 'M-v0']))).toEqual([]);
    expect(servableVersion(doc('M-v3', ['M-v3', 'M-v2', 'M-v1', 'M-v0']))).toBe('M-v3');
  });

  it('treats a version stored without a status (older records) as good', () => {
    const old = doc('M-v3');
    for (const v of old.versions) delete v.status;
    expect(servingOrder(old)[0]).toBe('M-v3');
    expect(withStatuses(old).versions.map((v) => v.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});

describe('settleVersions', () => {
  it('marks the failed current bad and moves current to the version served', () => {
    const { doc: next, newlyBad } = settleVersions(doc('M-v3'), [{ version: 'M-v3', error: 'its artifact is missing' }], 'M-v2');
    expect(next.current).toBe('M-v2');
    expect(next.versions[0]).toMatchObject({ version: 'M-v3', status: 'bad', error: 'its artifact is missing' });
    expect(next.versions.slice(1).every((v) => v.status === 'ok')).toBe(true);
    expect(newlyBad).toEqual([{ version: 'M-v3', error: 'its artifact is missing' }]);
  });

  it('drops the pin when the pinned version is the bad one', () => {
    const { doc: next } = settleVersions(doc('M-v1', [], true), [{ version: 'M-v1', error: 'x' }], 'M-v3');
    expect(next).toMatchObject({ current: 'M-v3', pinned: false });
  });

  it('leaves a current that moved on to a good version meanwhile (a new training) alone', () => {
    const { doc: next } = settleVersions(doc('M-v3'), [{ version: 'M-v2', error: 'x' }], 'M-v1');
    expect(next.current).toBe('M-v3');
    expect(next.versions[1]).toMatchObject({ version: 'M-v2', status: 'bad' });
  });

  it('moves a current that was already bad, and counts a version only the first time it is marked', () => {
    const { doc: next, newlyBad } = settleVersions(doc('M-v3', ['M-v3']), [{ version: 'M-v3', error: 'again' }], 'M-v2');
    expect(next.current).toBe('M-v2');
    expect(next.versions[0]!.error).toBe('broken');
    expect(newlyBad).toEqual([]);
  });

  it('without a served version marks only, and never moves current to a bad version', () => {
    expect(settleVersions(doc('M-v3'), [{ version: 'M-v3', error: 'x' }], undefined).doc.current).toBe('M-v3');
    expect(settleVersions(doc('M-v3', ['M-v2']), [{ version: 'M-v3', error: 'x' }], 'M-v2').doc.current).toBe('M-v3');
  });
});

describe('artifactProblem', () => {
  const bytes = new TextEncoder().encode('{"Positive":["great"]}');
  const expected = { bytes: bytes.byteLength, sha256: sha256Of(bytes) };

  it('accepts the bytes the version was published with', () => {
    expect(artifactProblem(expected, bytes)).toBeUndefined();
    expect(artifactProblem(expected, new Uint8Array(bytes))).toBeUndefined();
  });

  it('names what is wrong: missing, truncated, too long, other bytes of the same size', () => {
    expect(artifactProblem(expected, undefined)).toMatch(/missing/);
    expect(artifactProblem(expected, bytes.subarray(0, 5))).toMatch(/truncated: 5 bytes, expected 22/);
    expect(artifactProblem(expected, new Uint8Array([...bytes, 0]))).toMatch(/too long/);
    const flipped = new Uint8Array(bytes);
    flipped[14] = flipped[14]! ^ 0x01;
    expect(artifactProblem(expected, flipped)).toMatch(/SHA-256/);
  });
});

describe('keepNewest', () => {
  const names = (d: ProjectVersions) => d.versions.map((v) => v.version);

  it('keeps the newest versions when none is bad', () => {
    expect(names({ ...doc('M-v3'), versions: keepNewest(doc('M-v3').versions, 2) })).toEqual(['M-v3', 'M-v2']);
    expect(keepNewest(doc('M-v3').versions, 9)).toHaveLength(4);
  });

  it('drops bad versions before good ones, but never the newest', () => {
    const d = doc('M-v1', ['M-v3', 'M-v2']);
    expect(names({ ...d, versions: keepNewest(d.versions, 3) })).toEqual(['M-v3', 'M-v1', 'M-v0']);
    expect(names({ ...d, versions: keepNewest(d.versions, 2) })).toEqual(['M-v3', 'M-v1']);
    expect(names({ ...d, versions: keepNewest(d.versions, 1) })).toEqual(['M-v3']);
  });
});
