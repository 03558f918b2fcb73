import { createMemoryEngine, type MemoryEngine, type MemoryEngineOptions } from '../../../server/engine/memory/memory-engine';
import { PRESENCE_TTL_MS } from '../../../server/engine/redis/presence-store';

const T0 = 1_763_856_000_000;
const MINUTE = 60_000;
let clock: number;
let engine: MemoryEngine;
const engines: MemoryEngine[] = [];

/** A memory engine on the test's clock. */
function make(options: Partial<MemoryEngineOptions> = {}): MemoryEngine {
  const made = createMemoryEngine({ historyLimit: 3, now: () => clock, ...options });
  engines.push(made);
  return made;
}
const send = (room: string, cid?: string, target = engine) => target.history.append(room, { user: 'u', text: 'x', cid });

beforeEach(() => {
  clock = T0;
  engine = make();
});
afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('MemoryHistoryStore: the history limit', () => {
  it('holds at most historyLimit messages per room, however many are sent', async () => {
    for (let i = 0; i < 50; i++) await send(`room-${i % 5}`);
    expect(engine.history.stats()).toEqual({ rooms: 5, messages: 15, cids: 0 });
    expect((await engine.history.since('room-0')).messages.map((m) => m.id)).toEqual([8, 9, 10]);
  });
});

describe('MemoryHistoryStore: cid expiry', () => {
  it('answers a resend for 10 minutes to the millisecond, then stores it anew', async () => {
    const first = await send('r', 'c');
    clock = T0 + 10 * MINUTE;
    expect(await send('r', 'c')).toEqual({ ...first, duplicate: true });
    clock += 1;
    expect(await send('r', 'c')).toMatchObject({ duplicate: false, message: { id: 2 } });
  });

  it('forgets expired cids on the sweep', async () => {
    for (let i = 0; i < 100; i++) await send(`room-${i % 10}`, `cid-${i}`);
    clock = T0 + 5 * MINUTE;
    await send('room-0', 'late');
    expect(engine.history.stats().cids).toBe(101);
    clock = T0 + 10 * MINUTE + 1;
    engine.sweep();
    expect(engine.history.stats().cids).toBe(1);
    clock = T0 + 15 * MINUTE + 1;
    engine.sweep();
    expect(engine.history.stats()).toMatchObject({ rooms: 10, cids: 0 });
  });

  it('sweeps on a timer of sweepIntervalMs', async () => {
    jest.useFakeTimers();
    const timed = make({ sweepIntervalMs: 1000 });
    await send('r', 'c', timed);
    clock = T0 + 11 * MINUTE;
    expect(timed.history.stats().cids).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(timed.history.stats().cids).toBe(0);
  });

  it('remembers a cid no longer than historyTtlSec when that is shorter', async () => {
    const short = make({ historyTtlSec: 30 });
    const first = await send('r', 'c', short);
    clock = T0 + 20_000;
    await send('r', undefined, short); // keeps the room alive
    clock = T0 + 30_000;
    expect(await send('r', 'c', short)).toEqual({ ...first, duplicate: true });
    clock += 1;
    expect(await send('r', 'c', short)).toMatchObject({ duplicate: false, message: { id: 3 } });
  });
});

describe('MemoryHistoryStore: idle rooms (historyTtlSec)', () => {
  it('forgets a room historyTtlSec after its last message: unlisted, and a new epoch for old cursors', async () => {
    const idle = make({ historyTtlSec: 60 });
    await send('r', 'c', idle);
    const { epoch } = await idle.history.since('r');
    clock = T0 + MINUTE;
    expect((await idle.history.rooms()).map((r) => r.room)).toEqual(['r']);
    clock += 1;
    expect(await idle.history.rooms()).toEqual([]);
    const slice = await idle.history.since('r', { since: 1, epoch });
    expect(slice).toEqual({ room: 'r', epoch: '', last: 0, messages: [], gap: true, missed: null });
    const next = await send('r', 'c', idle);
    expect(next).toMatchObject({ duplicate: false, message: { id: 1 } });
    expect([next.epoch === epoch, next.epoch === '']).toEqual([false, false]);
  });

  it('counts the idle time from the last stored message, not from reads', async () => {
    const idle = make({ historyTtlSec: 60 });
    await send('r', undefined, idle);
    clock = T0 + 50_000;
    await send('r', undefined, idle);
    clock = T0 + 100_000;
    await idle.history.since('r');
    expect((await idle.history.since('r')).last).toBe(2);
    clock = T0 + 110_001;
    expect((await idle.history.since('r')).last).toBe(0);
  });

  it('drops idle rooms from memory on the sweep, and keeps rooms forever with 0', async () => {
    const idle = make({ historyTtlSec: 60 });
    for (let i = 0; i < 20; i++) await send(`room-${i}`, 'c', idle);
    await idle.history.since('read-only'); // v2: a read holds nothing
    clock = T0 + 30_000;
    await send('room-7', undefined, idle);
    clock = T0 + 61_000;
    idle.sweep();
    expect(idle.history.stats()).toEqual({ rooms: 1, messages: 2, cids: 0 }); // cids live min(10 min, 60 s)
    clock = T0 + 91_001;
    idle.sweep();
    expect(idle.history.stats()).toEqual({ rooms: 0, messages: 0, cids: 0 });

    await send('kept');
    clock += 365 * 24 * 60 * MINUTE;
    engine.sweep();
    expect((await engine.history.rooms()).map((r) => r.room)).toEqual(['kept']);
  });
});

describe('MemoryHistoryStore: what reads and stores hold', () => {
  it('holds nothing for reads of never-used rooms, nor for a delete there', async () => {
    for (let i = 0; i < 1000; i++) await engine.history.since(`never-${i}`, { since: 3, epoch: i % 2 ? '' : 'stale' });
    await expect(engine.history.delete('never-0', 1, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
    expect(engine.history.stats()).toEqual({ rooms: 0, messages: 0, cids: 0 });
  });

  it('prunes rooms idle past historyTtlSec at each store, as chat:rooms is pruned, without waiting for the sweep', async () => {
    const idle = make({ historyTtlSec: 60 });
    for (let i = 0; i < 20; i++) await send(`room-${i}`, undefined, idle);
    clock = T0 + 61_000;
    await send('fresh', undefined, idle);
    expect(idle.history.stats()).toEqual({ rooms: 1, messages: 1, cids: 0 });
  });

  it('answers rooms(limit) newest first from 20,000 rooms', async () => {
    for (let i = 0; i < 20_000; i++) {
      clock = T0 + i;
      await send(`room-${i}`);
    }
    await send('room-5');
    expect((await engine.history.rooms(3)).map((r) => r.room)).toEqual(['room-5', 'room-19999', 'room-19998']);
  });
});

describe('MemoryPresenceStore: counts that are not refreshed', () => {
  it('drops this process’s count PRESENCE_TTL_MS after it was last stated', async () => {
    await engine.presence.update('r', 2, undefined);
    clock = T0 + PRESENCE_TTL_MS - 1;
    await engine.presence.refresh(new Map([['r', 3]]), new Map());
    clock = T0 + 2 * PRESENCE_TTL_MS - 2;
    expect((await engine.presence.online(['r'])).get('r')).toBe(3);
    clock += 1;
    expect((await engine.presence.online(['r'])).get('r')).toBe(0);
    expect(await engine.presence.update('other', 1, undefined)).toBe(1);
  });
});

describe('MemoryBanList: the injected clock', () => {
  it('holds a ban while now < untilMs, to the millisecond', async () => {
    await engine.bans.ban('r', { uid: 'u:1' }, T0 + MINUTE);
    await engine.bans.ban('r', { user: 'bob' }, T0 + 2 * MINUTE);
    clock = T0 + MINUTE - 1;
    expect(await engine.bans.isBanned('r', { uid: 'u:1', name: 'x' })).toBe(true);
    clock += 1;
    expect(await engine.bans.isBanned('r', { uid: 'u:1', name: 'x' })).toBe(false);
    expect(await engine.bans.isBanned('r', { uid: 'u:1', name: 'bob' })).toBe(true);
    clock = T0 + 2 * MINUTE;
    expect(await engine.bans.isBanned('r', { name: 'bob' })).toBe(false);
  });

  it('forgets ended bans on the sweep, and lifts a ban with one that has already ended', async () => {
    for (let i = 0; i < 100; i++) await engine.bans.ban(`room-${i % 10}`, { uid: `u:${i}` }, T0 + MINUTE + i);
    await engine.bans.ban('r', { user: 'bob' }, T0 + 60 * MINUTE);
    expect(engine.bans.size()).toBe(101);
    clock = T0 + MINUTE + 50;
    engine.sweep();
    expect(engine.bans.size()).toBe(50);
    await engine.bans.ban('r', { user: 'bob' }, clock);
    expect(await engine.bans.isBanned('r', { name: 'bob' })).toBe(false);
    clock = T0 + 2 * MINUTE;
    engine.sweep();
    expect(engine.bans.size()).toBe(0);
  });
});

describe('MemoryPresenceStore: members that are not refreshed', () => {
  it('drops a member PRESENCE_TTL_MS after it was last stated, and forgets it on the sweep', async () => {
    await engine.presence.setMember('r', { name: 'ann', uid: 'u:1', connections: 1 });
    await engine.presence.setMember('r', { name: 'bob', connections: 2 });
    clock = T0 + PRESENCE_TTL_MS - 1;
    await engine.presence.refresh(new Map(), new Map([['r', [{ name: 'ann', uid: 'u:1', connections: 1 }]]]));
    clock = T0 + PRESENCE_TTL_MS;
    expect(await engine.presence.members('r')).toEqual([{ name: 'ann', uid: 'u:1', connections: 1 }]);
    expect(engine.presence.stats().members).toBe(2);
    engine.sweep();
    expect(engine.presence.stats().members).toBe(1);
    clock = T0 + 2 * PRESENCE_TTL_MS - 1;
    expect(await engine.presence.members('r')).toEqual([]);
    engine.sweep();
    expect(engine.presence.stats()).toEqual({ rooms: 0, members: 0 });
  });
});
