/**
 * Artifacts as files: MODEL_DIR/artifacts/<project>/<version>.bin. Written to a temp file and renamed,
 * so a crash mid-write never leaves a half model where a reader looks.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore } from '../types.js';
import { safePathSegment } from '../../util/ids.js';

export class FileArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  private file(projectId: string, version: string): string {
    return path.join(this.root, safePathSegment(projectId), `${safePathSegment(version)}.bin`);
  }

  async put(projectId: string, version: string, bytes: Uint8Array): Promise<void> {
    const target = this.file(projectId, version);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const handle = await fs.open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  }

  async get(projectId: string, version: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.readFile(this.file(projectId, version)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(projectId: string, version: string): Promise<void> {
    await fs.rm(this.file(projectId, version), { force: true });
  }
}
