import type { Engine, PresenceMember } from '../../server/engine/engine';
import { BusRecorder } from './bus-behaviour';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The moderation and presence-list part of the shared behaviour (see history-behaviour.ts):
 * deletes, bans, kicks and members (PROTOCOL.md v2 "Moderation" and "Presence list"),
 * registered by `describeEngineBehaviour` on the engine that `current` returns for the running
 * test. Bans run on the real clock (the Redis engine's expiry is Redis's own), with short bans.
 */
export function describeModerationBehaviour(name: string, current: () => Engine): void {
  let engine: Engine;
  beforeEach(() => {
    engine = current();
  });
  const fill = async (room: string, count: number) => {
    for (let i = 1; i <= count; i++) await engine.history.append(room, { user: 'u', text: `m${i}` });
  };
  const ids = (slice: { messages: readonly { id: number }[] }) => slice.messages.map((m) => m.id);
  const tsOf = (json: string) => (JSON.parse(json) as { ts: number }).ts;
  /** Members as JSON, so that an anonymous entry must have no `uid` at all. */
  const members = async (room: string) => JSON.stringify(await engine.presence.members(room));
  const listed = (...list: PresenceMember[]) => JSON.stringify(list);

  describe(`${name}: HistoryStore#delete(room, id, by)`, () => {
    it('puts a tombstone at the message’s place and stores the delete event at the next id', async () => {
      const first = await engine.history.append('r', { user: 'alice', text: 'hi' });
      const target = await engine.history.append('r', { user: 'bob', text: 'rude' });
      const third = await engine.history.append('r', { user: 'carol', text: 'yo' });
      const { epoch } = await engine.history.since('r');
      const result = await engine.history.delete('r', 2, { user: 'mod', uid: 'm:1' });
      expect(result.duplicate).toBe(false);
      expect(result.event.id).toBe(4);
      expect(result.event.json).toBe(`{"id":4,"room":"r","user":"mod","uid":"m:1","kind":"delete","target":2,"ts":${tsOf(result.event.json)}}`);
      expect(Math.abs(tsOf(result.event.json) - Date.now())).toBeLessThan(5000);
      const slice = await engine.history.since('r');
      expect(slice).toMatchObject({ epoch, last: 4, gap: false });
      expect(slice.messages).toEqual([
        first.message,
        { id: 2, json: `{"id":2,"room":"r","user":"bob","deleted":true,"ts":${tsOf(target.message.json)}}` },
        third.message,
        result.event,
      ]);
    });

    it('points a remembered cid at the tombstone: a resend of a deleted message does not bring its text back', async () => {
      await engine.history.append('r', { user: 'anon', text: 'secret one', cid: 'c-anon' });
      await engine.history.append('r', { user: 'Ann', uid: 'u/ä 1', text: 'secret two', cid: 'c-user' });
      await engine.history.delete('r', 1, { user: 'mod' });
      await engine.history.delete('r', 2, { user: 'mod' });
      const again = await engine.history.append('r', { user: 'anon', text: 'secret one', cid: 'c-anon' });
      const againUser = await engine.history.append('r', { user: 'Ann', uid: 'u/ä 1', text: 'secret two', cid: 'c-user' });
      expect(again).toMatchObject({ duplicate: true, message: { id: 1 } });
      expect(againUser).toMatchObject({ duplicate: true, message: { id: 2 } });
      expect(again.message.json).not.toContain('secret');
      expect(againUser.message.json).not.toContain('secret');
      expect(JSON.parse(againUser.message.json)).toMatchObject({ id: 2, deleted: true });
    });

    it('spells a deleter without a uid as its name alone (the backend and the admin script: system)', async () => {
      await engine.history.append('r', { user: 'a', text: 'x' });
      const { event } = await engine.history.delete('r', 1, { user: 'system' });
      expect(event.json).toBe(`{"id":2,"room":"r","user":"system","kind":"delete","target":1,"ts":${tsOf(event.json)}}`);
    });

    it('publishes the delete event to the room’s listeners, in order with messages', async () => {
      const rec = new BusRecorder();
      engine.bus.listen(rec);
      await engine.bus.subscribe('r');
      const sent = await engine.history.append('r', { user: 'a', text: 'x' });
      const { event } = await engine.history.delete('r', 1, { user: 'mod' });
      const after = await engine.history.append('r', { user: 'a', text: 'y' });
      expect(await rec.waitFor(3)).toEqual([sent.message.json, event.json, after.message.json].map((json) => `message r ${json}`));
    });

    it('hands a cursor from before the message the tombstone and the event, and one after it the event alone', async () => {
      await fill('r', 3);
      const { epoch } = await engine.history.since('r');
      const { event } = await engine.history.delete('r', 2, { user: 'mod' });
      const before = await engine.history.since('r', { since: 1, epoch });
      expect(ids(before)).toEqual([2, 3, 4]);
      expect(JSON.parse(before.messages[0]!.json)).toEqual({ id: 2, room: 'r', user: 'u', deleted: true, ts: expect.any(Number) });
      expect(before.messages[2]).toEqual(event);
      expect((await engine.history.since('r', { since: 3, epoch })).messages).toEqual([event]);
    });

    it('keeps no text, uid or cid in the tombstone, and escapes names and rooms as JSON', async () => {
      const { message } = await engine.history.append('技术交流', { user: 'ü "q"\\', uid: 'u:1', text: 'secret', cid: 'c-1' });
      const { event } = await engine.history.delete('技术交流', 1, { user: 'mod "m"', uid: 'm"1' });
      const [tombstone] = (await engine.history.since('技术交流')).messages;
      expect(tombstone!.json).toBe(JSON.stringify({ id: 1, room: '技术交流', user: 'ü "q"\\', deleted: true, ts: tsOf(message.json) }));
      expect(event.json).toBe(
        JSON.stringify({ id: 2, room: '技术交流', user: 'mod "m"', uid: 'm"1', kind: 'delete', target: 1, ts: tsOf(event.json) }),
      );
    });

    it('answers a second delete with the first event, storing nothing', async () => {
      await fill('r', 2);
      const first = await engine.history.delete('r', 1, { user: 'mod' });
      await fill('r', 1);
      const again = await engine.history.delete('r', 1, { user: 'other-mod', uid: 'm:2' });
      expect(again).toEqual({ event: first.event, duplicate: true });
      const slice = await engine.history.since('r');
      expect(slice.last).toBe(4);
      expect(ids(slice)).toEqual([1, 2, 3, 4]);
    });

    it('counts the delete event toward the history limit', async () => {
      await fill('r', 100);
      const { event } = await engine.history.delete('r', 100, { user: 'mod' });
      const slice = await engine.history.since('r');
      expect(ids(slice)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
      expect(slice.messages[99]).toEqual(event);
      expect(slice.messages[98]!.json).toMatch(/^\{"id":100,"room":"r","user":"u","deleted":true,"ts":\d+\}$/);
    });

    it('makes the room the most recently active', async () => {
      await engine.history.append('a', { user: 'u', text: 'x' });
      await sleep(3);
      await engine.history.append('b', { user: 'u', text: 'x' });
      await sleep(3);
      await engine.history.delete('a', 1, { user: 'mod' });
      expect((await engine.history.rooms()).map((r) => r.room)).toEqual(['a', 'b']);
    });

    it.each([
      ['0', 0],
      ['-1', -1],
      ['an id after the last', 4],
    ])('throws not_found for %s', async (_, id) => {
      await fill('r', 3);
      await expect(engine.history.delete('r', id, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found', status: 404 });
      expect((await engine.history.since('r')).last).toBe(3);
    });

    it('throws not_found for an id no longer retained, and in a room without history', async () => {
      await fill('r', 105);
      await expect(engine.history.delete('r', 5, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(engine.history.delete('nowhere', 1, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
      expect((await engine.history.since('r')).last).toBe(105);
    });

    it('throws not_found for a delete event’s own id', async () => {
      await fill('r', 1);
      const { event } = await engine.history.delete('r', 1, { user: 'mod' });
      await expect(engine.history.delete('r', event.id, { user: 'mod' })).rejects.toMatchObject({
        code: 'not_found',
        message: expect.stringMatching(/is a delete event/),
      });
      expect((await engine.history.since('r')).last).toBe(2);
    });
  });

  describe(`${name}: BanList#ban(room, who, untilMs) and #isBanned(room, visitor)`, () => {
    it('bans by uid: that uid under any name, in that room only', async () => {
      await engine.bans.ban('r', { uid: 'u:1' }, Date.now() + 60_000);
      expect(await engine.bans.isBanned('r', { uid: 'u:1', name: 'anyone' })).toBe(true);
      expect(await engine.bans.isBanned('r', { uid: 'u:2', name: 'anyone' })).toBe(false);
      expect(await engine.bans.isBanned('r', { name: 'u:1' })).toBe(false);
      expect(await engine.bans.isBanned('other', { uid: 'u:1', name: 'anyone' })).toBe(false);
    });

    it('bans by name: anonymous visitors and token users who use it, in that room only', async () => {
      await engine.bans.ban('r', { user: 'bob "b"' }, Date.now() + 60_000);
      expect(await engine.bans.isBanned('r', { name: 'bob "b"' })).toBe(true);
      expect(await engine.bans.isBanned('r', { uid: 'u:9', name: 'bob "b"' })).toBe(true);
      expect(await engine.bans.isBanned('r', { name: 'bob' })).toBe(false);
      expect(await engine.bans.isBanned('r', { uid: 'bob "b"', name: 'x' })).toBe(false);
      expect(await engine.bans.isBanned('other', { name: 'bob "b"' })).toBe(false);
    });

    it('ends a ban at untilMs, and lets a later ban replace an earlier one', async () => {
      const now = Date.now();
      await engine.bans.ban('r', { uid: 'short' }, now + 300);
      await engine.bans.ban('r', { uid: 'shortened' }, now + 60_000);
      await engine.bans.ban('r', { uid: 'shortened' }, now + 300);
      await engine.bans.ban('r', { user: 'lengthened' }, now + 300);
      await engine.bans.ban('r', { user: 'lengthened' }, now + 60_000);
      expect(await engine.bans.isBanned('r', { uid: 'short', name: 'x' })).toBe(true);
      expect(await engine.bans.isBanned('r', { uid: 'shortened', name: 'x' })).toBe(true);
      await sleep(now + 400 - Date.now());
      expect(await engine.bans.isBanned('r', { uid: 'short', name: 'x' })).toBe(false);
      expect(await engine.bans.isBanned('r', { uid: 'shortened', name: 'x' })).toBe(false);
      expect(await engine.bans.isBanned('r', { name: 'lengthened' })).toBe(true);
    });
  });

  describe(`${name}: HistoryStore#append(room, draft, { refuseBanned })`, () => {
    it('refuses a sender banned by uid or by name with banned, storing nothing and creating no room', async () => {
      const until = Date.now() + 60_000;
      await engine.bans.ban('r', { uid: 'u:1' }, until);
      await engine.bans.ban('r', { user: 'bob' }, until);
      const refuse = { refuseBanned: true };
      await expect(engine.history.append('r', { user: 'anyone', uid: 'u:1', text: 'x' }, refuse)).rejects.toMatchObject({ code: 'banned' });
      await expect(engine.history.append('r', { user: 'bob', text: 'x' }, refuse)).rejects.toMatchObject({ code: 'banned' });
      await expect(engine.history.append('r', { user: 'bob', uid: 'u:2', text: 'x' }, refuse)).rejects.toMatchObject({ code: 'banned' });
      expect(await engine.history.since('r')).toMatchObject({ epoch: '', last: 0, messages: [] });
      expect(await engine.history.rooms()).toEqual([]);
      // Others in that room, and the same people elsewhere, send as before.
      await engine.history.append('r', { user: 'carol', uid: 'u:3', text: 'hi' }, refuse);
      await engine.history.append('elsewhere', { user: 'bob', uid: 'u:1', text: 'hi' }, refuse);
      expect((await engine.history.since('r')).last).toBe(1);
    });

    it('refuses a banned sender’s resend of a cid stored before the ban, and lets through what does not ask (the backend)', async () => {
      const first = await engine.history.append('r', { user: 'bob', uid: 'u:1', text: 'x', cid: 'c1' }, { refuseBanned: true });
      await engine.bans.ban('r', { uid: 'u:1' }, Date.now() + 60_000);
      await expect(engine.history.append('r', { user: 'bob', uid: 'u:1', text: 'x', cid: 'c1' }, { refuseBanned: true })).rejects.toMatchObject({
        code: 'banned',
      });
      const again = await engine.history.append('r', { user: 'bob', uid: 'u:1', text: 'x', cid: 'c1' });
      expect(again).toMatchObject({ duplicate: true, message: first.message });
      expect((await engine.history.append('r', { user: 'bob', uid: 'u:1', text: 'from the backend' })).message.id).toBe(2);
    });

    it('lets a sender through again once the ban ends', async () => {
      await engine.bans.ban('r', { user: 'bob' }, Date.now() + 300);
      await expect(engine.history.append('r', { user: 'bob', text: 'x' }, { refuseBanned: true })).rejects.toMatchObject({ code: 'banned' });
      await sleep(400);
      expect((await engine.history.append('r', { user: 'bob', text: 'x' }, { refuseBanned: true })).message.id).toBe(1);
    });
  });

  describe(`${name}: RoomBus#kick(room, who)`, () => {
    it('hands every listener the kick in a subscribed room, in order with messages, and nothing elsewhere', async () => {
      const [one, two] = [new BusRecorder(), new BusRecorder()];
      engine.bus.listen(one);
      engine.bus.listen(two);
      await engine.bus.subscribe('r');
      await engine.bus.subscribe('gone');
      await engine.bus.unsubscribe('gone');
      const before = await engine.history.append('r', { user: 'u', text: 'x' });
      await engine.bus.kick('elsewhere', { uid: 'u:1' });
      await engine.bus.kick('gone', { uid: 'u:1' });
      await engine.bus.kick('r', { uid: 'u:1' });
      await engine.bus.kick('r', { user: 'bob "b"' });
      const after = await engine.history.append('r', { user: 'u', text: 'y' });
      const expected = [
        `message r ${before.message.json}`,
        'kick r {"uid":"u:1"}',
        'kick r {"user":"bob \\"b\\""}',
        `message r ${after.message.json}`,
      ];
      expect(await one.waitFor(4)).toEqual(expected);
      expect(await two.waitFor(4)).toEqual(expected);
    });
  });

  describe(`${name}: PresenceStore#setMember(room, member) and #members(room)`, () => {
    it('lists one entry per person, sorted by name then uid, anonymous people by name', async () => {
      await engine.presence.setMember('r', { name: 'bob', uid: 'u:2', connections: 1 });
      await engine.presence.setMember('r', { name: 'alice', uid: 'u:1', connections: 2 });
      await engine.presence.setMember('r', { name: 'carol', connections: 1 });
      await engine.presence.setMember('r', { name: 'alice', connections: 1 });
      await engine.presence.setMember('other', { name: 'dave', connections: 1 });
      expect(await members('r')).toBe(
        listed(
          { name: 'alice', connections: 1 },
          { name: 'alice', uid: 'u:1', connections: 2 },
          { name: 'bob', uid: 'u:2', connections: 1 },
          { name: 'carol', connections: 1 },
        ),
      );
      expect(await engine.presence.members('nobody')).toEqual([]);
    });

    it('replaces a person’s entry (a uid keeps one entry when its name changes), and removes it at 0 connections', async () => {
      await engine.presence.setMember('r', { name: 'alice', uid: 'u:1', connections: 2 });
      await engine.presence.setMember('r', { name: 'carol', connections: 1 });
      await engine.presence.setMember('r', { name: 'bob', uid: 'u:2', connections: 1 });
      await engine.presence.setMember('r', { name: 'Alice B', uid: 'u:1', connections: 3 });
      await engine.presence.setMember('r', { name: 'bob', uid: 'u:2', connections: 0 });
      await engine.presence.setMember('r', { name: 'carol', connections: 0 });
      await engine.presence.setMember('r', { name: 'nobody', connections: 0 });
      expect(await members('r')).toBe(listed({ name: 'Alice B', uid: 'u:1', connections: 3 }));
      await engine.presence.setMember('r', { name: 'Alice B', uid: 'u:1', connections: 0 });
      expect(await engine.presence.members('r')).toEqual([]);
    });

    it('re-asserts counts and members on refresh(counts, members), publishing nothing', async () => {
      const rec = new BusRecorder();
      engine.bus.listen(rec);
      await engine.bus.subscribe('r');
      await engine.presence.setMember('r', { name: 'alice', uid: 'u:1', connections: 2 });
      await engine.presence.refresh(
        new Map([['r', 3], ['s', 1]]),
        new Map([
          ['r', [{ name: 'alice', uid: 'u:1', connections: 2 }, { name: 'carol', connections: 1 }]],
          ['s', [{ name: 'dave', uid: 'u:4', connections: 1 }]],
        ]),
      );
      expect([...(await engine.presence.online(['r', 's']))]).toEqual([['r', 3], ['s', 1]]);
      expect(await members('r')).toBe(listed({ name: 'alice', uid: 'u:1', connections: 2 }, { name: 'carol', connections: 1 }));
      expect(await members('s')).toBe(listed({ name: 'dave', uid: 'u:4', connections: 1 }));
      const sentinel = await engine.history.append('r', { user: 'u', text: 'sentinel' });
      expect(await rec.waitFor(1)).toEqual([`message r ${sentinel.message.json}`]);
    });
  });
}
