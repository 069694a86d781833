import { EventEmitter } from 'node:events';
import type { ChangeFeed, ProjectChange } from './types.js';

/** Change feed for one process (embedded mode): listeners are called synchronously on publish. */
export class MemoryChangeFeed implements ChangeFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(change: ProjectChange): Promise<void> {
    this.emitter.emit('change', change);
  }

  subscribe(listener: (change: ProjectChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
