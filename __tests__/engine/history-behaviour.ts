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
}

/** Makes a fresh, empty engine that keeps `historyLimit` messages per room. */
export type MakeEngine = (options: { historyLimit: number }) => Promise<EngineUnderTest>;

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
    it('gives a never-used room an epoch that stays, last 0 and no gap (v1: a read creates it)', async () => {
      const slice = await engine.history.since('empty');
      expect(slice).toEqual({ room: 'empty', epoch: slice.epoch, last: 0, messages: [], gap: false, missed: null });
      expect(slice.epoch).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect((await engine.history.since('empty')).epoch).toBe(slice.epoch);
      expect((await engine.history.append('empty', { user: 'u', text: 'x' })).epoch).toBe(slice.epoch);
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
