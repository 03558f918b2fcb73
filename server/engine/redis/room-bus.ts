import type Redis from 'ioredis';
import { unavailable } from '../../errors';
import type { MemberRef, RoomBus, RoomBusListener } from '../engine';
import { controlChannel, roomChannels, roomOfChannel } from './keys';

/**
 * Pub/sub over one subscriber connection: each room is three channels (messages, presence
 * frames, moderation orders). ioredis resubscribes by itself after a reconnect; what was published meanwhile never
 * arrives (DEPENDENCIES.md trap 11), so every later 'ready' is announced as `resubscribed`.
 */
export class RedisRoomBus implements RoomBus {
  constructor(
    private readonly subscriber: Redis,
    /** The command connection, to publish moderation orders. */
    private readonly publisher: Redis,
  ) {}

  async subscribe(room: string): Promise<void> {
    if (this.subscriber.status !== 'ready') throw new Error('The pub/sub connection is not ready.');
    await this.subscriber.subscribe(...roomChannels(room));
  }

  async unsubscribe(room: string): Promise<void> {
    await this.subscriber.unsubscribe(...roomChannels(room));
  }

  async kick(room: string, who: MemberRef): Promise<void> {
    try {
      await this.publisher.publish(controlChannel(room), kickPayload(who));
    } catch (err) {
      throw unavailable(err, 'The kick could not be sent to every server process');
    }
  }

  listen(listener: RoomBusListener): () => void {
    const onMessage = (channel: string, payload: string): void => deliver(listener, channel, payload);
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

/**
 * Hands what arrived on one of a room's channels to the listener: a message, a presence frame,
 * or a kick; anything on a channel that is not ours is ignored. (ClusterRoomBus shares it.)
 */
export function deliver(listener: RoomBusListener, channel: string, payload: string): void {
  const target = roomOfChannel(channel);
  if (!target) return;
  if (target.kind === 'presence') listener.presence(target.room, payload);
  else if (target.kind === 'control') {
    const who = kickOf(payload);
    if (who) listener.kick(target.room, who);
  } else listener.message(target.room, payload);
}

/** A kick as it travels on a room's control channel (`kickOf` reads it back). */
export function kickPayload(who: MemberRef): string {
  return JSON.stringify({ kick: 'uid' in who ? { uid: who.uid } : { user: who.user } });
}

/** The member a control message kicks; anything else on the channel is ignored. */
function kickOf(payload: string): MemberRef | undefined {
  try {
    const { kick } = JSON.parse(payload) as { kick?: { uid?: unknown; user?: unknown } };
    if (typeof kick?.uid === 'string') return { uid: kick.uid };
    if (typeof kick?.user === 'string') return { user: kick.user };
  } catch {
    // not ours
  }
  return undefined;
}
