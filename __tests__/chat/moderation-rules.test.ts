import type { Visitor } from '../../server/auth/access';
import { READ_WRITE } from '../../server/auth/rights';
import { Moderation } from '../../server/chat/moderation';
import { createMemoryEngine, type MemoryEngine } from '../../server/engine/memory/memory-engine';

// The one implementation behind the HTTP API, a moderator's WebSocket commands and the admin
// script: what it refuses, every path refuses.

let engine: MemoryEngine;
let moderation: Moderation;
beforeEach(() => {
  engine = createMemoryEngine({ historyLimit: 100 });
  moderation = new Moderation(engine);
});
afterEach(() => engine.close());

const mod = (uid: string): Visitor => ({ name: uid, uid, rights: { ...READ_WRITE, mod: true } });

describe('Moderation: a moderator banned from the room', () => {
  it('may neither delete nor kick there while the ban lasts, and moderates elsewhere as before', async () => {
    const { message } = await engine.history.append('r', { user: 'someone', text: 'hi' });
    await engine.bans.ban('r', { uid: 'm2' }, Date.now() + 60_000);
    await expect(moderation.delete('r', message.id, mod('m2'))).rejects.toMatchObject({ code: 'banned' });
    await expect(moderation.kick('r', { who: { uid: 'u' } }, mod('m2'))).rejects.toMatchObject({ code: 'banned' });
    await expect(moderation.kick('elsewhere', { who: { uid: 'u' } }, mod('m2'))).resolves.toMatchObject({ room: 'elsewhere' });
  });

  it('leaves the backend and the admin script (system) outside bans', async () => {
    const { message } = await engine.history.append('r', { user: 'someone', text: 'hi' });
    await engine.bans.ban('r', { user: 'system' }, Date.now() + 60_000);
    await expect(moderation.delete('r', message.id, 'system')).resolves.toMatchObject({ duplicate: false });
    await expect(moderation.kick('r', { who: { uid: 'u' } }, 'system')).resolves.toMatchObject({ bannedUntil: null });
  });
});
