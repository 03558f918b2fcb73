import type Redis from 'ioredis';
import type { RoomBus, RoomBusListener } from '../engine';
import { messageChannel, presenceChannel, roomOfChannel } from './keys';

/**
 * Pub/sub over one subscriber connection: each room is two channels (messages and presence
 * frames). ioredis resubscribes by itself after a reconnect; what was published meanwhile never
 * arrives (DEPENDENCIES.md trap 11), so every later 'ready' is announced as `resubscribed`.
 */
export class RedisRoomBus implements RoomBus {
  constructor(private readonly subscriber: Redis) {}

  async subscribe(room: string): Promise<void> {
    if (this.subscriber.status !== 'ready') throw new Error('The pub/sub connection is not ready.');
    await this.subscriber.subscribe(messageChannel(room), presenceChannel(room));
  }

  async unsubscribe(room: string): Promise<void> {
    await this.subscriber.unsubscribe(messageChannel(room), presenceChannel(room));
  }

  listen(listener: RoomBusListener): () => void {
    const onMessage = (channel: string, payload: string): void => {
      const target = roomOfChannel(channel);
      if (!target) return;
      if (target.kind === 'presence') listener.presence(target.room, payload);
      else listener.message(target.room, payload);
    };
    // The first 'ready' came before us; each later one follows a reconnect.
    const onReady = (): void => listener.resubscribed();
    this.subscriber.on('message', onMessage);
    this.subscriber.on('ready', onReady);
    return () => {
      this.subscriber.off('message', onMessage);
      this.subscriber.off('ready', onReady);
    };
  }
}
