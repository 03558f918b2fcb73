import { ChatClient } from '../../client';
import { Cursor } from '../../client/cursor';
import { fakeTransports, msg, settle } from './helpers/fake-transport';
import { record } from './helpers/record';

const history = (epoch: string, ids: number[], gap = false) => ({
  epoch,
  messages: ids.map((id) => msg(id)),
  gap,
  missed: null,
  me: null,
});

describe('Cursor#takeHistory(answer)', () => {
  it('keeps every message of a first join and moves since to the newest', () => {
    const cursor = new Cursor();
    const update = cursor.takeHistory(history('E1', [1, 2, 3]));
    expect(update.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(update.reset).toBe(false);
    expect(cursor.position).toEqual({ epoch: 'E1', since: 3 });
  });

  it('drops what the cursor already had', () => {
    const cursor = new Cursor({ epoch: 'E1', since: 2 });
    expect(cursor.takeHistory(history('E1', [1, 2, 3, 4])).messages.map((m) => m.id)).toEqual([3, 4]);
  });

  it('starts over when the epoch changed, and says so with reset', () => {
    const cursor = new Cursor({ epoch: 'E1', since: 40 });
    const update = cursor.takeHistory(history('E2', [1, 2], true));
    expect(update.reset).toBe(true);
    expect(update.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(cursor.position).toEqual({ epoch: 'E2', since: 2 });
  });

  it('learns an epoch without calling it a change when none was known', () => {
    const cursor = new Cursor({ epoch: '', since: 0 });
    const update = cursor.takeHistory(history('E1', [1]));
    expect(update.reset).toBe(false);
    expect(cursor.position).toEqual({ epoch: 'E1', since: 1 });
  });

  it('starts over on a gap of unknown size even when it knew no epoch (it joined the room while it was empty)', () => {
    const cursor = new Cursor({ epoch: '', since: 3 });
    const update = cursor.takeHistory({ ...history('', []), gap: true, missed: null });
    expect(update.reset).toBe(true);
    expect(cursor.take(msg(1), 'E2')).toBe('new');
    expect(cursor.position).toEqual({ epoch: 'E2', since: 1 });
  });

  it('keeps its place on a gap of a known size (messages trimmed, not a lost history)', () => {
    const cursor = new Cursor({ epoch: 'E1', since: 3 });
    const update = cursor.takeHistory({ ...history('E1', [10, 11]), gap: true, missed: 6 });
    expect(update.reset).toBe(false);
    expect(update.messages.map((m) => m.id)).toEqual([10, 11]);
  });

  it('sets since to 0 after an empty first history, so the next connection resumes instead of joining anew', () => {
    const cursor = new Cursor();
    cursor.takeHistory(history('', []));
    expect(cursor.query()).toEqual({ since: 0 });
  });
});

describe('Cursor#take(message, epoch)', () => {
  it('moves on for a newer id and refuses one it has seen', () => {
    const cursor = new Cursor({ epoch: 'E1', since: 5 });
    expect(cursor.take(msg(6))).toBe('new');
    expect(cursor.take(msg(6))).toBe('seen');
    expect(cursor.take(msg(4))).toBe('seen');
    expect(cursor.since).toBe(6);
  });

  it('reports a conflict for another epoch, and adopts the first epoch it learns', () => {
    expect(new Cursor({ epoch: 'E1', since: 5 }).take(msg(1), 'E2')).toBe('conflict');
    const fresh = new Cursor({ epoch: '', since: 0 });
    expect(fresh.take(msg(1), 'E9')).toBe('new');
    expect(fresh.position.epoch).toBe('E9');
  });
});

describe('Cursor#query()', () => {
  it('sends neither since nor epoch before the first history (a first join)', () => {
    expect(new Cursor().query()).toEqual({});
  });

  it('leaves out an empty epoch: none was known yet', () => {
    expect(new Cursor({ epoch: '', since: 7 }).query()).toEqual({ since: 7 });
    expect(new Cursor({ epoch: 'E1', since: 7 }).query()).toEqual({ since: 7, epoch: 'E1' });
  });
});

describe("chat.on('history' | 'message', listener) across reconnects", () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  const start = async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({
      url: 'http://chat.test',
      room: 'lobby',
      createTransport: transports.factory,
      fetch: () => Promise.reject(new Error('offline')),
    });
    const seen = record(chat);
    await settle();
    return { chat, transports, seen };
  };

  const reconnect = async (transports: ReturnType<typeof fakeTransports>) => {
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
  };

  it('resumes each connection from since and epoch, and hands on no id twice', async () => {
    const { chat, transports, seen } = await start();
    expect(transports.last.cursorAtConnect).toEqual({});
    transports.last.open(history('E1', [1, 2, 3]));
    transports.last.deliver(msg(4));
    transports.last.deliver(msg(4));
    await reconnect(transports);
    expect(transports.last.cursorAtConnect).toEqual({ since: 4, epoch: 'E1' });
    // A server (or a transport switch) that replays from further back: only 5 is new.
    transports.last.open(history('E1', [3, 4, 5]));
    transports.last.deliver(msg(5));
    transports.last.deliver(msg(6));
    expect(seen.ids()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.histories.map((h) => h.gap)).toEqual([false, false]);
    expect(chat.cursor).toEqual({ epoch: 'E1', since: 6 });
    chat.close();
  });

  it('says gap and brings the whole new history when the epoch changed, so the page replaces what it shows', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open(history('E1', [1, 2, 3]));
    await reconnect(transports);
    transports.last.open({ ...history('E2', [1, 2], true), missed: null });
    expect(seen.histories[1]).toMatchObject({ gap: true, epoch: 'E2', missed: null });
    expect(seen.histories[1]!.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(chat.cursor).toEqual({ epoch: 'E2', since: 2 });
    chat.close();
  });

  it('says reset only when the history was reset, so a page clears what it shows only then', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open(history('', [])); // joined an empty room: no epoch known yet
    transports.last.deliver(msg(1), 'E1');
    await reconnect(transports);
    transports.last.open({ epoch: 'E1', messages: [msg(40)], gap: true, missed: 38, me: null });
    await reconnect(transports);
    transports.last.open({ ...history('E2', [1], true), missed: null });
    expect(seen.histories.map((h) => [h.gap, h.reset])).toEqual([
      [false, false],
      [true, false],
      [true, true],
    ]);
    chat.close();
  });

  it('passes missed on with a gap of trimmed messages', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open(history('E1', [1]));
    await reconnect(transports);
    transports.last.open({ epoch: 'E1', messages: [msg(150)], gap: true, missed: 148, me: null });
    expect(seen.histories[1]).toMatchObject({ gap: true, missed: 148 });
    chat.close();
  });

  it('does not send an empty epoch back, and takes the first epoch it learns without a false gap', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open(history('', []));
    transports.last.deliver(msg(1), 'E7');
    await reconnect(transports);
    expect(transports.last.cursorAtConnect).toEqual({ since: 1, epoch: 'E7' });
    transports.last.open(history('E7', [1, 2]));
    expect(seen.histories.map((h) => h.gap)).toEqual([false, false]);
    expect(seen.ids()).toEqual([1, 2]);
    chat.close();
  });

  it('resynchronizes with a gap when a live message names another epoch', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open(history('E1', [1, 2]));
    transports.last.deliver(msg(1), 'E2');
    expect(seen.histories[1]).toMatchObject({ gap: true, epoch: 'E2' });
    expect(seen.histories[1]!.messages.map((m) => m.id)).toEqual([1]);
    chat.close();
  });
});
