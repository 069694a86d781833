import type { Redis } from 'ioredis';
import type { ChangeFeed, ProjectChange } from '../types.js';
import { KEY_PREFIX } from './connection.js';

/**
 * Pub/sub channels belong to the server, not to a logical database: the database number is part of the
 * channel name, so deployments (or test runs) on different databases of one server never hear each other.
 */
export function changeChannel(db: number): string {
  return `${KEY_PREFIX}changes:${db}`;
}

/**
 * Change notifications through Redis pub/sub: every API process hears about a new version within
 * milliseconds. Pub/sub drops messages while a subscriber is disconnected, so on reconnect listeners get
 * a `{kind:'config', projectId:'*'}` that makes them drop every cached model.
 */
export class RedisChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<(change: ProjectChange) => void>();
  private readonly channel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    this.channel = changeChannel(publisher.options.db ?? 0);
    void subscriber.subscribe(this.channel).catch(() => {});
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
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
    await this.publisher.publish(this.channel, JSON.stringify(change));
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
