import type { Cluster } from 'ioredis';
import { unavailable } from '../../errors';
import type { MemberRef, RoomBus, RoomBusListener } from '../engine';
import { barrierChannel, controlChannel, roomChannels } from './keys';
import { deliver, kickPayload } from './room-bus';

/**
 * Sharded pub/sub on Redis Cluster (Redis ≥ 7): each room's three channels share its hash tag, so
 * they live on the room's slot, and a message travels only to the master that owns it (SPUBLISH
 * inside the scripts) and from there to the processes that SSUBSCRIBEd — never over the cluster
 * bus to every node, as PUBLISH would.
 *
 * The subscriber is an ioredis Cluster with `shardedSubscribers`: one subscriber connection per
 * master. When a slot moves (the old owner sends an unsolicited SUNSUBSCRIBE) or a master
 * restarts, ioredis 6.0.0 subscribes again on the right master and emits `subscribersReady`.
 * Whatever was published meanwhile never arrived (DEPENDENCIES.md trap 11), so each of those is
 * announced as `resubscribed`, once the new subscriptions are known to be in effect.
 */
export class ClusterRoomBus implements RoomBus {
  private readonly rooms = new Set<string>();

  constructor(
    private readonly subscriber: Cluster,
    /** The command Cluster, to publish moderation orders. */
    private readonly publisher: Cluster,
  ) {}

  async subscribe(room: string): Promise<void> {
    if (this.subscriber.status !== 'ready') throw new Error('The pub/sub connection is not ready.');
    this.rooms.add(room);
    try {
      await this.subscriber.ssubscribe(...roomChannels(room));
    } catch (err) {
      this.rooms.delete(room);
      // ioredis remembers the channels before it sends them, to subscribe again after a reconnect:
      // forget them, or a failed room would stay subscribed for good.
      this.subscriber.sunsubscribe(...roomChannels(room)).catch(() => undefined);
      throw err;
    }
  }

  async unsubscribe(room: string): Promise<void> {
    this.rooms.delete(room);
    // By name: a SUNSUBSCRIBE without channels fails in ioredis 6.0.0 (ioredis#2133).
    await this.subscriber.sunsubscribe(...roomChannels(room));
  }

  async kick(room: string, who: MemberRef): Promise<void> {
    try {
      await this.publisher.spublish(controlChannel(room), kickPayload(who));
    } catch (err) {
      throw unavailable(err, 'The kick could not be sent to every server process');
    }
  }

  listen(listener: RoomBusListener): () => void {
    const onMessage = (channel: string, payload: string): void => deliver(listener, channel, payload);
    const onResubscribed = (): void => {
      void this.inEffect().then(() => listener.resubscribed());
    };
    this.subscriber.on('smessage', onMessage);
    this.subscriber.on('subscribersReady', onResubscribed);
    return () => {
      this.subscriber.off('smessage', onMessage);
      this.subscriber.off('subscribersReady', onResubscribed);
    };
  }

  /**
   * Resolves once the SSUBSCRIBEs that ioredis just sent are in effect: a SUNSUBSCRIBE from a
   * channel of the same slot, sent after them on the same subscriber connection, is answered after
   * them. Were the repair read first, a message stored between that read and the SSUBSCRIBE would
   * be neither in the repair nor delivered. A barrier that fails (the slot moved again) is let go:
   * another `subscribersReady` follows.
   */
  private async inEffect(): Promise<void> {
    await Promise.all([...this.rooms].map((room) => this.subscriber.sunsubscribe(barrierChannel(room)).catch(() => undefined)));
  }
}
