import type { Engine } from '../../server/engine/engine';
import { describeBusBehaviour } from './bus-behaviour';
import { describeModerationBehaviour } from './moderation-behaviour';

/**
 * The behaviour every engine shares, run against each of them (redis/history-store.test.ts,
 * memory/memory-engine.test.ts) so that they cannot drift apart. Only the engine interface is
 * used here; what can only be seen in one engine's insides stays in that engine's test file.
 */

/** An engine made for one test, and how to be rid of it. */
export interface EngineUnderTest {
  readonly engine: Engine;
  dispose(): Promise<void>;
  /** Lets `ms` pass for the engine's expiry: Redis waits on the real clock, memory moves its own. */
  elapse(ms: number): Promise<void>;
  /** How much the engine holds for rooms: Redis the number of keys (DBSIZE), memory the rooms it holds. */
  footprint(): Promise<number>;
}

/**
 * Makes a fresh, empty engine that keeps `historyLimit` messages per room, each room for
 * `historyTtlSec` after its last stored message (default 0: forever).
 */
export type MakeEngine = (options: { historyLimit: number; historyTtlSec?: number }) => Promise<EngineUnderTest>;

const tick = (ms = 3) => new Promise((r) => setTimeout(r, ms));

/** Registers the shared behaviour tests for the engine that `make` builds. */
export function describeEngineBehaviour(name: string, make: MakeEngine): void {
  let under: EngineUnderTest;
  let engine: Engine;
  const extra: EngineUnderTest[] = [];
  const fill = async (room: string, count: number, target: Engine = engine) => {
    for (let i = 1; i <= count; i++) await target.history.append(room, { user: 'u', text: `m${i}` });
  };
  const ids = (slice: { messages: readonly { id: number }[] }) => slice.messages.map((m) => m.id);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  beforeEach(async () => {
    under = await make({ historyLimit: 100 });
    engine = under.engine;
  });
  afterEach(async () => {
    await Promise.all([under, ...extra.splice(0)].map((u) => u.dispose()));
  });

  describe(`${name}: HistoryStore#append(room, draft)`, () => {
    it('assigns ids from 1 and stores the message as canonical JSON', async () => {
      const first = await engine.history.append('lobby', { user: 'alice', text: 'hi' });
      const second = await engine.history.append('lobby', { user: 'bob', text: 'yo' });
      expect([first.message.id, second.message.id]).toEqual([1, 2]);
      expect(first.message.json).toMatch(/^\{"id":1,"room":"lobby","user":"alice","text":"hi","ts":\d+\}$/);
      const parsed = JSON.parse(first.message.json);
      expect(Math.abs(parsed.ts - Date.now())).toBeLessThan(5000);
      expect(first.duplicate).toBe(false);
      expect((await engine.history.since('lobby')).messages).toEqual([first.message, second.message]);
    });

    it('answers every append with the room epoch that since() reports', async () => {
      const first = await engine.history.append('lobby', { user: 'a', text: 'x' });
      const second = await engine.history.append('lobby', { user: 'a', text: 'y' });
      expect(first.epoch).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect(second.epoch).toBe(first.epoch);
      expect((await engine.history.since('lobby')).epoch).toBe(first.epoch);
      expect((await engine.history.append('other', { user: 'a', text: 'z' })).epoch).not.toBe(first.epoch);
    });

    it('keeps the newest historyLimit: 150 messages leave ids 51..150', async () => {
      await fill('big', 150);
      const slice = await engine.history.since('big');
      expect(ids(slice)).toEqual(range(51, 150));
      expect(slice.last).toBe(150);
    });

    it('stores a repeated cid once and returns the first message', async () => {
      const first = await engine.history.append('lobby', { user: 'a', text: 'once', cid: 'c-1' });
      const again = await engine.history.append('lobby', { user: 'b', text: 'other text', cid: 'c-1' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ ...first, duplicate: true });
      expect(JSON.parse(first.message.json)).toMatchObject({ id: 1, cid: 'c-1' });
      expect(first.message.json).toMatch(/,"ts":\d+,"cid":"c-1"\}$/);
      expect(ids(await engine.history.since('lobby'))).toEqual([1]);
    });

    it('answers a repeated cid with the first message after it left the retained window', async () => {
      const small = await make({ historyLimit: 2 });
      extra.push(small);
      const first = await small.engine.history.append('r', { user: 'a', text: 'x', cid: 'old' });
      await fill('r', 3, small.engine);
      expect(await small.engine.history.append('r', { user: 'a', text: 'x', cid: 'old' })).toEqual({ ...first, duplicate: true });
      expect(ids(await small.engine.history.since('r'))).toEqual([3, 4]);
    });

    it('keeps cids per room, and stores every send without a cid', async () => {
      await engine.history.append('a', { user: 'u', text: 'x', cid: 'same' });
      expect((await engine.history.append('b', { user: 'u', text: 'x', cid: 'same' })).duplicate).toBe(false);
      await fill('c', 2);
      expect(ids(await engine.history.since('c'))).toEqual([1, 2]);
    });

    it('keeps cids per uid: one user’s cid never answers for another’s, nor for anonymous sends', async () => {
      const ann = await engine.history.append('r', { user: 'Ann', uid: 'u:1', text: 'x', cid: 'c' });
      expect(ann.message.json).toMatch(/^\{"id":1,"room":"r","user":"Ann","uid":"u:1","text":"x","ts":\d+,"cid":"c"\}$/);
      expect((await engine.history.append('r', { user: 'Ann', uid: 'u:2', text: 'x', cid: 'c' })).duplicate).toBe(false);
      expect((await engine.history.append('r', { user: 'Ann', text: 'x', cid: 'c' })).duplicate).toBe(false);
      expect(await engine.history.append('r', { user: 'renamed', uid: 'u:1', text: 'y', cid: 'c' })).toEqual({ ...ann, duplicate: true });
    });

    it('stores text, names and rooms with quotes, markup and Unicode exactly', async () => {
      const text = '"</script><b>x</b>\\ 技术 😀\n\ttab\u2028';
      const { message } = await engine.history.append('技术交流', { user: 'ü "q"', text, cid: '😀"' });
      expect(JSON.parse(message.json)).toMatchObject({ room: '技术交流', user: 'ü "q"', text, cid: '😀"' });
      expect((await engine.history.since('技术交流')).messages[0]!.json).toBe(message.json);
    });
  });

  describe(`${name}: HistoryStore#since(room, cursor)`, () => {
    it('answers a never-used room with epoch "", last 0 and no gap, and writes nothing (v2: reads never write)', async () => {
      const before = await under.footprint();
      const empty = { room: 'empty', epoch: '', last: 0, messages: [], gap: false, missed: null };
      expect(await engine.history.since('empty')).toEqual(empty);
      expect(await engine.history.since('empty', { since: 0 })).toEqual(empty);
      expect(await engine.history.since('empty', { since: 5, epoch: '' })).toEqual(empty);
      expect(await engine.history.rooms()).toEqual([]);
      expect(await under.footprint()).toBe(before);
      const first = await engine.history.append('empty', { user: 'u', text: 'x' });
      expect(first.epoch).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect((await engine.history.since('empty')).epoch).toBe(first.epoch);
    });

    it('trusts a cursor with an empty epoch as it is: a client that watched an empty room gets no false gap', async () => {
      const watched = await engine.history.since('r');
      await fill('r', 3);
      const caughtUp = await engine.history.since('r', { since: watched.last, epoch: watched.epoch });
      expect(caughtUp).toMatchObject({ last: 3, gap: false, missed: null });
      expect(caughtUp.epoch).not.toBe('');
      expect(ids(caughtUp)).toEqual([1, 2, 3]);
      expect(ids(await engine.history.since('r', { since: 2, epoch: '' }))).toEqual([3]);
      expect(await engine.history.since('r', { since: 9, epoch: '' })).toMatchObject({ messages: [], gap: false });
    });

    it('still reports trimmed messages to a cursor with an empty epoch', async () => {
      await fill('r', 150);
      const slice = await engine.history.since('r', { since: 20, epoch: '' });
      expect(slice).toMatchObject({ gap: true, missed: 30 });
      expect(ids(slice)).toEqual(range(51, 150));
    });

    it('returns exactly the messages after since, oldest first', async () => {
      await fill('r', 10);
      const { epoch } = await engine.history.since('r');
      const slice = await engine.history.since('r', { since: 7, epoch });
      expect(ids(slice)).toEqual([8, 9, 10]);
      expect(slice).toMatchObject({ room: 'r', epoch, last: 10, gap: false, missed: null });
    });

    it('returns nothing and no gap for a client that is up to date, or ahead', async () => {
      await fill('r', 3);
      expect(await engine.history.since('r', { since: 3 })).toMatchObject({ messages: [], gap: false, last: 3 });
      expect(await engine.history.since('r', { since: 9 })).toMatchObject({ messages: [], gap: false, missed: null });
    });

    it('reports a gap with missed when since is older than the retained window', async () => {
      await fill('r', 150);
      const slice = await engine.history.since('r', { since: 20 });
      expect(slice).toMatchObject({ gap: true, missed: 30 }); // 21..50 were trimmed away
      expect(ids(slice)).toEqual(range(51, 150));
    });

    it('treats since=50 as caught up to the window edge (no gap)', async () => {
      await fill('r', 150);
      const slice = await engine.history.since('r', { since: 50 });
      expect(slice).toMatchObject({ gap: false, missed: null });
      expect(slice.messages).toHaveLength(100);
    });

    it('reports since=0 with an epoch as a gap only when messages were trimmed', async () => {
      await fill('r', 100);
      const { epoch } = await engine.history.since('r');
      expect(await engine.history.since('r', { since: 0, epoch })).toMatchObject({ gap: false, missed: null });
      await fill('r', 1);
      const slice = await engine.history.since('r', { since: 0, epoch });
      expect(slice).toMatchObject({ gap: true, missed: 1 });
      expect(ids(slice)).toEqual(range(2, 101));
    });

    it('never reports a gap to a first join (no since)', async () => {
      await fill('r', 150);
      expect(await engine.history.since('r')).toMatchObject({ gap: false, missed: null });
    });

    it('reports a stale epoch as a gap with the whole history and missed unknown', async () => {
      await fill('r', 5);
      const slice = await engine.history.since('r', { since: 3, epoch: 'stale-epoch' });
      expect(slice).toMatchObject({ gap: true, missed: null });
      expect(ids(slice)).toEqual([1, 2, 3, 4, 5]);
      expect(await engine.history.since('never', { since: 3, epoch: 'stale-epoch' })).toMatchObject({
        messages: [],
        last: 0,
        gap: true,
        missed: null,
      });
    });

    it('trusts since without an epoch as it is', async () => {
      await fill('r', 5);
      expect(ids(await engine.history.since('r', { since: 4 }))).toEqual([5]);
    });
  });

  describe(`${name}: HistoryStore#delete(room, id, by) in a room that does not exist`, () => {
    it('throws not_found and writes nothing', async () => {
      const before = await under.footprint();
      await expect(engine.history.delete('nowhere', 1, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
      expect(await under.footprint()).toBe(before);
      expect(await engine.history.rooms()).toEqual([]);
    });
  });

  describe(`${name}: HISTORY_TTL (historyTtlSec)`, () => {
    it('forgets a room historyTtlSec after its last stored message (an append or a delete; reads do not count)', async () => {
      const short = await make({ historyLimit: 100, historyTtlSec: 1 });
      extra.push(short);
      const history = short.engine.history;
      const first = await history.append('idle', { user: 'u', text: 'x', cid: 'c' });
      await history.append('sent', { user: 'u', text: 'x' });
      await history.append('deleted', { user: 'u', text: 'x' });
      await short.elapse(700);
      expect((await history.since('idle')).last).toBe(1);
      await history.append('sent', { user: 'u', text: 'y' });
      await history.delete('deleted', 1, { user: 'mod' });
      await short.elapse(700);

      expect((await history.rooms()).map((r) => r.room).sort()).toEqual(['deleted', 'sent']);
      expect((await history.since('sent')).last).toBe(2);
      // A client coming back sees the reset: epoch "" until the next message, and a gap.
      const away = { since: 1, epoch: first.epoch };
      expect(await history.since('idle', away)).toEqual({ room: 'idle', epoch: '', last: 0, messages: [], gap: true, missed: null });
      const next = await history.append('idle', { user: 'u', text: 'x', cid: 'c' });
      expect(next).toMatchObject({ duplicate: false, message: { id: 1 } });
      expect(next.epoch).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect(next.epoch).not.toBe(first.epoch);
      const back = await history.since('idle', away);
      expect(back).toMatchObject({ epoch: next.epoch, last: 1, gap: true, missed: null });
      expect(back.messages).toEqual([next.message]);
    });

    it('keeps rooms forever with 0', async () => {
      const forever = await make({ historyLimit: 100, historyTtlSec: 0 });
      extra.push(forever);
      await forever.engine.history.append('kept', { user: 'u', text: 'x' });
      await forever.elapse(1500);
      expect((await forever.engine.history.rooms()).map((r) => r.room)).toEqual(['kept']);
      expect((await forever.engine.history.since('kept')).last).toBe(1);
    });
  });

  describe(`${name}: HistoryStore#rooms(limit)`, () => {
    it('lists only the limit most recently active rooms, 50 by default', async () => {
      for (let i = 0; i < 53; i++) {
        await engine.history.append(`room-${i}`, { user: 'u', text: 'x' });
        await tick(2);
      }
      expect((await engine.history.rooms(3)).map((r) => r.room)).toEqual(['room-52', 'room-51', 'room-50']);
      const listed = (await engine.history.rooms()).map((r) => r.room);
      expect(listed).toEqual(range(3, 52).reverse().map((i) => `room-${i}`));
      expect(await engine.history.rooms(1000)).toHaveLength(53);
    });

    it.each([0, -1, 1.5])('refuses a limit of %s with a TypeError', async (limit) => {
      await expect(engine.history.rooms(limit)).rejects.toThrow(new TypeError('limit must be a positive integer'));
    });
  });

  describe(`${name}: HistoryStore#rooms()`, () => {
    it('lists the rooms with messages, most recently active first; reads and resends move nothing', async () => {
      await engine.history.append('a', { user: 'u', text: 'x', cid: 'c' });
      await tick();
      await engine.history.append('b', { user: 'u', text: 'x' });
      await tick();
      await engine.history.since('read-only');
      await engine.history.append('a', { user: 'u', text: 'x', cid: 'c' });
      const rooms = await engine.history.rooms();
      expect(rooms.map((r) => r.room)).toEqual(['b', 'a']);
      expect(Math.abs(rooms[0]!.lastActivity - Date.now())).toBeLessThan(5000);
      expect(rooms[0]!.lastActivity).toBeGreaterThan(rooms[1]!.lastActivity);
    });
  });

  describeBusBehaviour(name, () => engine);
  describeModerationBehaviour(name, () => engine);
}
