/**
 * Artifact verification: the bytes a store hands out must be the bytes the version was published with
 * (size and SHA-256 recorded on the version). A damaged file, a damaged Redis value or a deleted one is
 * caught here, before a model ever sees it.
 */
import crypto from 'node:crypto';
import type { ModelVersionInfo } from '../store/types.js';

type Expected = NonNullable<ModelVersionInfo['artifact']>;

/** What is wrong with `bytes` for a version that recorded `expected`, or undefined when they match. */
export function artifactProblem(expected: Expected, bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return `its artifact is missing (expected ${expected.bytes} bytes)`;
  if (bytes.byteLength !== expected.bytes) {
    const how = bytes.byteLength < expected.bytes ? 'truncated' : 'too long';
    return `its artifact is ${how}: ${bytes.byteLength} bytes, expected ${expected.bytes}`;
  }
  const sha256 = sha256Of(bytes);
  if (sha256 !== expected.sha256) return `its artifact fails its SHA-256 check (${sha256.slice(0, 12)}…, expected ${expected.sha256.slice(0, 12)}…)`;
  return undefined;
}

export function sha256Of(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** A version's artifact is not the one it was published with: the version is unusable, whatever the model. */
export class ArtifactVerificationError extends Error {
  constructor(
    readonly projectId: string,
    readonly version: string,
    readonly problem: string,
  ) {
    super(`version ${version} of project ${projectId}: ${problem}`);
    this.name = 'ArtifactVerificationError';
  }
}
