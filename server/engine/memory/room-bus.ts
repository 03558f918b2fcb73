import { unavailable } from '../../errors';
import type { MemberRef, RoomBus, RoomBusListener } from '../engine';

/**
 * The memory engine's bus: the one process is the only subscriber, so a publication is handed
 * to this process's listeners directly, in a microtask. Like Redis pub/sub, a room must be
 * subscribed when its event is published (and still be when it is handed over), every listener
 * gets every event, and events keep their publication order. `resubscribed` never fires:
 * nothing here can disconnect.
 */
export class MemoryRoomBus implements RoomBus {
  private readonly rooms = new Set<string>();
  // One entry per listen() call, so a listener registered twice hears twice, as with an EventEmitter.
  private readonly listeners = new Set<{ readonly listener: RoomBusListener }>();
  private closed = false;

  /** @param onError Invoked when a listener throws; the other listeners still get the event. */
  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  async subscribe(room: string): Promise<void> {
    if (this.closed) throw new Error('The memory engine has stopped, so the room cannot be subscribed.');
    this.rooms.add(room);
  }

  async unsubscribe(room: string): Promise<void> {
    this.rooms.delete(room);
  }

  listen(listener: RoomBusListener): () => void {
    const entry = { listener };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  async kick(room: string, who: MemberRef): Promise<void> {
    if (this.closed) throw unavailable(new Error('The memory engine has stopped.'), 'The kick could not be sent');
    // A copy of the target alone, as a listener of the Redis bus gets it from the published JSON.
    const target: MemberRef = Object.freeze('uid' in who ? { uid: who.uid } : { user: who.user });
    this.publish(room, (listener) => listener.kick(room, target));
  }

  /** Publishes a stored message's JSON to the room's subscribers (the engine's append does it). */
  publishMessage(room: string, json: string): void {
    this.publish(room, (listener) => listener.message(room, json));
  }

  /** Publishes a presence frame to the room's subscribers (the presence store does it). */
  publishPresence(room: string, frame: string): void {
    this.publish(room, (listener) => listener.presence(room, frame));
  }

  /** Stops every delivery, including those already queued. */
  close(): void {
    this.closed = true;
    this.rooms.clear();
  }

  private publish(room: string, deliver: (listener: RoomBusListener) => void): void {
    if (this.closed || !this.rooms.has(room)) return;
    // A microtask, not a direct call: the publisher (an append) finishes first and never runs a
    // listener's code, as with Redis, where delivery comes later on another connection. A
    // promise job rather than queueMicrotask, which jest's fake timers would hold back.
    void Promise.resolve().then(() => {
      if (this.closed || !this.rooms.has(room)) return;
      for (const { listener } of [...this.listeners]) {
        try {
          deliver(listener);
        } catch (err) {
          this.onError(err);
        }
      }
    });
  }
}
