import type { PresenceMember, PresenceStore } from '../../server/engine/engine';
import { createLogger } from '../../server/logger';
import type { PresenceChange } from '../../server/protocol/types';
import { PRESENCE_NAMES_LIMIT, PresenceAnnouncer } from '../../server/rooms/presence-announcer';

/** A presence store that writes down what this process told it. */
class RecordingStore implements PresenceStore {
  readonly updates: Array<{ room: string; count: number; change: PresenceChange }> = [];
  readonly refreshes: Array<Map<string, number>> = [];
  readonly people = new Map<string, PresenceMember>();
  async update(room: string, count: number, change: PresenceChange): Promise<number> {
    this.updates.push({ room, count, change });
    return count;
  }
  async refresh(counts: ReadonlyMap<string, number>): Promise<void> {
    this.refreshes.push(new Map(counts));
  }
  async setMember(room: string, member: PresenceMember): Promise<void> {
    const key = `${room}/${member.uid ?? member.name}`;
    if (member.connections > 0) this.people.set(key, member);
    else this.people.delete(key);
  }
  async members(): Promise<PresenceMember[]> {
    return [...this.people.values()];
  }
  async online(): Promise<Map<string, number>> {
    return new Map();
  }
}

let store: RecordingStore;
let announcer: PresenceAnnouncer;

beforeEach(() => {
  jest.useFakeTimers();
  store = new RecordingStore();
  announcer = new PresenceAnnouncer({ store, log: createLogger('silent'), refreshMs: 10_000, coalesceMs: 1000 });
});
afterEach(async () => {
  await announcer.close();
  jest.useRealTimers();
});

describe('PresenceAnnouncer#joined(room, name) and #left(room, name)', () => {
  const endOfTurn = () => jest.runOnlyPendingTimers();

  it('announces each join and leave with the new count in a small room', () => {
    announcer.joined('r', { name: 'ann' });
    endOfTurn();
    announcer.joined('r', { name: 'bob' });
    endOfTurn();
    announcer.left('r', { name: 'ann' });
    endOfTurn();
    expect(store.updates).toEqual([
      { room: 'r', count: 1, change: { joined: 'ann' } },
      { room: 'r', count: 2, change: { joined: 'bob' } },
      { room: 'r', count: 1, change: { left: 'ann' } },
    ]);
    expect(announcer.online('r')).toBe(1);
  });

  it('announces a storm of joins in one turn as one count-only update, not one frame per joiner', () => {
    for (let i = 0; i < 30; i++) announcer.joined('r', { name: `u${i}` });
    expect(store.updates).toEqual([]);
    endOfTurn();
    expect(store.updates).toEqual([{ room: 'r', count: 30, change: undefined }]);
  });

  it(`coalesces a big room's changes (over ${PRESENCE_NAMES_LIMIT} here) into one count-only update per second`, () => {
    for (let i = 0; i < PRESENCE_NAMES_LIMIT; i++) announcer.joined('big', { name: `u${i}` });
    endOfTurn();
    const named = store.updates.length;
    for (let i = 0; i < 50; i++) announcer.joined('big', { name: `late${i}` });
    announcer.left('big', { name: 'u0' });
    expect(store.updates).toHaveLength(named);
    jest.advanceTimersByTime(1000);
    expect(store.updates.slice(named)).toEqual([{ room: 'big', count: PRESENCE_NAMES_LIMIT + 49, change: undefined }]);
  });

  it('drops the count to 0 at once when the last member leaves, even while an update is pending', () => {
    for (let i = 0; i <= PRESENCE_NAMES_LIMIT; i++) announcer.joined('big', { name: `u${i}` });
    for (let i = 0; i <= PRESENCE_NAMES_LIMIT; i++) announcer.left('big', { name: `u${i}` });
    expect(store.updates.at(-1)).toEqual({ room: 'big', count: 0, change: undefined });
    const before = store.updates.length;
    jest.advanceTimersByTime(5000);
    expect(store.updates).toHaveLength(before);
  });

  it('ignores a leave from a room it does not count', () => {
    announcer.left('nowhere', { name: 'ann' });
    expect(store.updates).toEqual([]);
  });
});

describe('PresenceAnnouncer refresh', () => {
  it('re-asserts the counts of rooms with members on every period, so a dead process drops out', () => {
    announcer.joined('a', { name: 'ann' });
    announcer.joined('b', { name: 'bob' });
    announcer.left('b', { name: 'bob' });
    jest.advanceTimersByTime(10_000);
    expect(store.refreshes).toEqual([new Map([['a', 1]])]);
  });
});

describe('PresenceAnnouncer#close()', () => {
  it('withdraws this process’s counts and stops refreshing', async () => {
    announcer.joined('a', { name: 'ann' });
    await announcer.close();
    expect(store.updates.at(-1)).toEqual({ room: 'a', count: 0, change: undefined });
    jest.advanceTimersByTime(30_000);
    expect(store.refreshes).toEqual([]);
  });
});

describe('PresenceAnnouncer people', () => {
  it('keeps one entry per person with their connection count, removed when their last one leaves', () => {
    announcer.joined('r', { name: 'Ann', uid: 'u1' });
    announcer.joined('r', { name: 'Ann', uid: 'u1' });
    announcer.joined('r', { name: 'guest' });
    expect(store.people.get('r/u1')).toEqual({ name: 'Ann', uid: 'u1', connections: 2 });
    expect(store.people.get('r/guest')).toEqual({ name: 'guest', connections: 1 });
    announcer.left('r', { name: 'Ann', uid: 'u1' });
    expect(store.people.get('r/u1')).toMatchObject({ connections: 1 });
    announcer.left('r', { name: 'Ann', uid: 'u1' });
    expect(store.people.has('r/u1')).toBe(false);
  });
});
