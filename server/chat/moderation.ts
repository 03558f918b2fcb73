import type { Visitor } from '../auth/access';
import type { BanList, DeleteResult, Deleter, HistoryStore, RoomBus } from '../engine/engine';
import { ChatError, banned } from '../errors';
import type { KickOrder } from '../protocol/commands';

/** What a kick did: the room, and until when its target is banned (null: not banned). */
export interface KickResult {
  readonly room: string;
  readonly bannedUntil: number | null;
}

/** The name deletes by the backend and the admin script are stored under. */
export const SYSTEM: Deleter = Object.freeze({ user: 'system' });

/**
 * Delete, kick and ban: the one implementation behind the backend API, a moderator's WebSocket
 * commands and the admin script (PROTOCOL.md v2 "Moderation").
 *
 * @example
 * await moderation.kick('lobby', { who: { uid: 'u-9' }, seconds: 600 }, moderator);
 */
export class Moderation {
  constructor(private readonly engine: { readonly history: HistoryStore; readonly bans: BanList; readonly bus: RoomBus }) {}

  /** Deletes message `id` of `room`, as `by` (the backend and the admin script as `system`). */
  async delete(room: string, id: number, by: Visitor | 'system'): Promise<DeleteResult> {
    await this.assertNotBanned(room, by);
    return this.engine.history.delete(room, id, by === 'system' ? SYSTEM : deleter(by));
  }

  /**
   * Ends every connection of the order's target in `room`, on every process; with `seconds`, bans
   * them first, so that what they do next is refused. `by` is who orders it.
   */
  async kick(room: string, order: KickOrder, by: Visitor | 'system'): Promise<KickResult> {
    await this.assertNotBanned(room, by);
    const bannedUntil = order.seconds === undefined ? null : Date.now() + order.seconds * 1000;
    if (bannedUntil !== null) await this.engine.bans.ban(room, order.who, bannedUntil);
    await this.engine.bus.kick(room, order.who);
    return { room, bannedUntil };
  }

  /** A moderator banned from a room does not moderate it while the ban lasts; the backend and the admin script are never banned. */
  private async assertNotBanned(room: string, by: Visitor | 'system'): Promise<void> {
    if (by === 'system' || by.backend) return;
    if (await this.engine.bans.isBanned(room, by)) throw banned();
  }
}

/** Throws `forbidden` unless the visitor moderates the room (a token's `mod`, or the backend). */
export function assertModerator(visitor: { readonly rights: { readonly mod: boolean } }): void {
  if (!visitor.rights.mod) throw new ChatError('forbidden', 'Only a moderator of this room may do that.');
}

function deleter(visitor: Visitor): Deleter {
  if (visitor.backend) return SYSTEM;
  return visitor.uid === undefined ? { user: visitor.name } : { user: visitor.name, uid: visitor.uid };
}
