import type { Redis } from 'ioredis';
import type { ChangeFeed, ProjectChange } from '../types.js';
import { KEY_PREFIX } from './connection.js';

const CHANNEL = `${KEY_PREFIX}changes`;

/**
 * Change notifications through Redis pub/sub: every API process hears about a new version within
 * milliseconds. Pub/sub drops messages while a subscriber is disconnected, so on reconnect listeners get
 * a `{kind:'config', projectId:'*'}` that makes them drop every cached model.
 */
export class RedisChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<(change: ProjectChange) => void>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    void subscriber.subscribe(CHANNEL).catch(() => {});
    subscriber.on('message', (_channel: string, message: string) => {
      let change: ProjectChange;
      try {
        change = JSON.parse(message) as ProjectChange;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(change);
    });
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) for (const listener of this.listeners) listener({ kind: 'config', projectId: '*' });
      connectedBefore = true;
    });
  }

  async publish(change: ProjectChange): Promise<void> {
    await this.publisher.publish(CHANNEL, JSON.stringify(change));
  }

  subscribe(listener: (change: ProjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber.disconnect();
  }
}
