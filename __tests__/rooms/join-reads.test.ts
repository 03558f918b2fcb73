import type { Cursor, HistorySlice } from '../../server/protocol/types';
import { JoinReads } from '../../server/rooms/join-reads';

const stored = (id: number) => ({ id, json: `{"id":${id}}` });
/** A room with ids 6..10 retained (5 trimmed away) in epoch E. */
const all: HistorySlice = { room: 'r', epoch: 'E', last: 10, messages: [6, 7, 8, 9, 10].map(stored), gap: false, missed: null };

function reads(answer: () => Promise<HistorySlice> = async () => all) {
  let count = 0;
  const cursors: Cursor[] = [];
  const joinReads = new JoinReads(async (_room, cursor) => {
    count++;
    cursors.push(cursor);
    return answer();
  });
  return { joinReads, count: () => count, cursors };
}

describe('JoinReads#since(room, cursor)', () => {
  it('serves every join of a room in one turn with one read, each by its own cursor', async () => {
    const { joinReads, count } = reads();
    const cursors: Cursor[] = [{}, { since: 8, epoch: 'E' }, { since: 10, epoch: 'E' }, { since: 2, epoch: 'E' }, { since: 9, epoch: 'old' }, { since: 9, epoch: '' }];
    const slices = await Promise.all(cursors.map((c) => joinReads.since('r', c)));
    expect(count()).toBe(1);
    const view = (s: HistorySlice) => ({ ids: s.messages.map((m) => m.id), gap: s.gap, missed: s.missed });
    expect(slices.map(view)).toEqual([
      { ids: [6, 7, 8, 9, 10], gap: false, missed: null }, // a first join: the retained history
      { ids: [9, 10], gap: false, missed: null },
      { ids: [], gap: false, missed: null },
      { ids: [6, 7, 8, 9, 10], gap: true, missed: 3 }, // 3, 4 and 5 were trimmed away
      { ids: [6, 7, 8, 9, 10], gap: true, missed: null }, // another epoch: a reset
      { ids: [10], gap: false, missed: null }, // no epoch known yet: trusted
    ]);
  });

  it('gives joins that come while a read runs the next read, and rooms reads of their own', async () => {
    const pending: Array<() => void> = [];
    const release = () => pending.splice(0).forEach((go) => go());
    const { joinReads, count } = reads(() => new Promise((resolve) => pending.push(() => resolve(all))));
    const first = joinReads.since('r', {});
    const other = joinReads.since('other', {});
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(2); // one per room
    const late = [joinReads.since('r', {}), joinReads.since('r', { since: 9, epoch: 'E' })];
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(2); // waiting for the running read of r
    release();
    await Promise.all([first, other]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all(late);
    expect(count()).toBe(3);
  });

  it('hands a failed read’s error to every join that shared it', async () => {
    const { joinReads } = reads(async () => {
      throw new Error('down');
    });
    const results = await Promise.allSettled([joinReads.since('r', {}), joinReads.since('r', { since: 1 })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('reads only what a lone join’s cursor needs (a long poll, one reconnect)', async () => {
    const { joinReads, cursors } = reads(async () => ({ ...all, messages: [stored(10)] }));
    const slice = await joinReads.since('r', { since: 9, epoch: 'E' });
    expect(cursors).toEqual([{ since: 9, epoch: 'E' }]);
    expect(slice.messages.map((m) => m.id)).toEqual([10]);
  });
});
