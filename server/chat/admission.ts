import type { Access, Visitor } from '../auth/access';
import type { CredentialSource } from '../auth/credentials';
import type { BanList } from '../engine/engine';
import { banned } from '../errors';

/**
 * The door of a room, for every transport: who the request is and what it may do there
 * (`Access`), and whether a moderator banned them from it (the engine's ban list, which every
 * process shares). Asked when a connection opens, never per delivery; at a send the ban check
 * is part of the append's own atomic step (`AppendOptions.refuseBanned`).
 *
 * @example
 * const visitor = await admission.admit(ctx, 'lobby', ctx.query.name); // 401 / 403 / 400 / banned
 */
export class Admission {
  constructor(
    readonly access: Access,
    private readonly bans: BanList,
  ) {}

  /** Admits a request to `room` (see `Access.admit`), refusing a banned visitor with `banned`. */
  async admit(request: CredentialSource, room: string, clientName: unknown): Promise<Visitor> {
    const visitor = this.access.admit(request, room, clientName);
    await this.assertNotBanned(room, visitor);
    return visitor;
  }

  /** Throws `banned` while the visitor (by uid or name) is banned from `room`; the backend never is. */
  async assertNotBanned(room: string, visitor: Visitor): Promise<void> {
    if (visitor.backend) return;
    if (await this.bans.isBanned(room, visitor)) throw banned();
  }
}
