import { createLogger } from '../../server/logger';
import type { Cursor, HistorySlice, StoredMessage } from '../../server/protocol/types';
import { RoomSequence, type RoomMember } from '../../server/rooms/room-sequence';
import { RoomRecorder } from '../helpers/room-recorder';

// RoomSequence without Redis or sockets: the history is an array of ids here, read through an
// injected since() that a test can hold back or fail, as an outage would.

const room = 'r';
const json = (id: number): string => `{"id":${id},"room":"r","user":"u","text":"m${id}","ts":0}`;
const stored = (id: number): StoredMessage => ({ id, json: json(id) });

/** A room's history as the engine would keep it: ids 1..last, the newest `limit` retained. */
class FakeHistory {
  last = 0;
  epoch = 'e1';
  limit = 5;
  failing = false;
  reads: Cursor[] = [];
  private held: Array<() => void> = [];
  holding = false;

  add(count: number): number[] {
    const ids = Array.from({ length: count }, (_, i) => this.last + i + 1);
    this.last += count;
    return ids;
  }

  reset(epoch: string): void {
    this.epoch = epoch;
    this.last = 0;
  }

  /** Lets held reads answer. */
  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  readonly since = async (cursor: Cursor): Promise<HistorySlice> => {
    this.reads.push(cursor);
    // The answer is what the history held when the read ran; it may reach us later.
    const slice = this.read(cursor);
    if (this.holding) await new Promise<void>((go) => this.held.push(go));
    if (this.failing) throw new Error('the engine is down');
    return slice;
  };

  private read(cursor: Cursor): HistorySlice {
    const oldest = Math.max(1, this.last - this.limit + 1);
    const retained = Array.from({ length: this.last - oldest + 1 }, (_, i) => stored(oldest + i));
    const base = { room, epoch: this.epoch, last: this.last };
    if (cursor.since === undefined) return { ...base, messages: retained, gap: false, missed: null };
    if (cursor.epoch !== undefined && cursor.epoch !== this.epoch) return { ...base, messages: retained, gap: true, missed: null };
    const after = retained.filter((m) => m.id > cursor.since!);
    const missed = oldest - 1 - cursor.since;
    if (missed > 0 && cursor.since < this.last) return { ...base, messages: after, gap: true, missed };
    return { ...base, messages: after, gap: false, missed: null };
  }
}


const settle = () => new Promise((r) => setImmediate(r));
let history: FakeHistory;
let sequence: RoomSequence;
const delivered: number[] = [];

/** Seats a member, reads its history from `cursor` and starts it, as the hub does. */
async function join(member: RoomMember, cursor: Cursor = {}): Promise<HistorySlice> {
  sequence.seat(member);
  const slice = await history.since(cursor);
  sequence.start(member, slice);
  return slice;
}

/** Publishes ids as the engine's bus would. */
function publish(...ids: number[]): void {
  for (const id of ids) sequence.receive(json(id));
}

beforeEach(() => {
  history = new FakeHistory();
  delivered.length = 0;
  sequence = new RoomSequence({
    room,
    since: history.since,
    log: createLogger('silent'),
    onDelivered: (n) => delivered.push(n),
    retryMs: 20,
  });
});
afterEach(() => sequence.close());

describe('RoomSequence#receive(json)', () => {
  it('hands each message to every member once, in id order, counting deliveries', async () => {
    const a = new RoomRecorder();
    const b = new RoomRecorder();
    await join(a);
    await join(b);
    publish(...history.add(3));
    expect(a.ids).toEqual([1, 2, 3]);
    expect(b.ids).toEqual([1, 2, 3]);
    expect(delivered).toEqual([2, 2, 2]);
  });

  it('drops a message the history already held', async () => {
    history.add(2);
    const a = new RoomRecorder();
    await join(a);
    publish(2);
    publish(...history.add(1));
    expect(a.ids).toEqual([1, 2, 3]);
  });

  it('repairs a skipped id from the history, without a gap when it is still retained', async () => {
    const a = new RoomRecorder();
    await join(a);
    const ids = history.add(3);
    publish(ids[0]!, ids[2]!); // 2 was lost on the bus
    await settle();
    expect(a.ids).toEqual([1, 2, 3]);
    expect(a.histories).toHaveLength(1);
  });

  it('gives a member a gap with missed when the skipped messages were trimmed away', async () => {
    const a = new RoomRecorder();
    await join(a);
    history.add(8); // limit 5: ids 4..8 retained, 1..3 lost
    publish(8);
    await settle();
    expect(a.histories[1]).toMatchObject({ gap: true, missed: 3 });
    expect(a.ids).toEqual([4, 5, 6, 7, 8]);
  });

  it('treats a sequence that restarts at 1 as a reset: a gap with the new epoch', async () => {
    history.add(3);
    const a = new RoomRecorder();
    await join(a);
    history.reset('e2');
    publish(...history.add(1));
    await settle();
    expect(a.histories[1]).toMatchObject({ gap: true, epoch: 'e2', missed: null });
    expect(a.ids).toEqual([1, 2, 3, 1]);
    publish(...history.add(1));
    expect(a.epochs.at(-1)).toBe('e2');
  });

  it('keeps retrying a failed repair, and delivers in order once the history answers', async () => {
    const a = new RoomRecorder();
    await join(a);
    history.failing = true;
    const ids = history.add(3);
    publish(ids[0]!, ids[2]!);
    await new Promise((r) => setTimeout(r, 60));
    expect(a.ids).toEqual([1]);
    history.failing = false;
    await new Promise((r) => setTimeout(r, 60));
    expect(a.ids).toEqual([1, 2, 3]);
  });
});

describe('RoomSequence#start(member, slice)', () => {
  it('holds a message published while the first history was read, and gives it the room’s epoch', async () => {
    const a = new RoomRecorder();
    sequence.seat(a);
    history.holding = true;
    const reading = history.since({});
    publish(...history.add(1)); // stored after the read began: the slice may or may not hold it
    history.release();
    sequence.start(a, await reading);
    expect(a.ids).toEqual([1]);
    expect(a.epochs).toEqual(['e1']);
  });

  it('returns false for a member that left while its history was read', async () => {
    const a = new RoomRecorder();
    sequence.seat(a);
    const slice = await history.since({});
    expect(sequence.remove(a)).toBe('joining');
    expect(sequence.start(a, slice)).toBe(false);
    expect(a.histories).toHaveLength(0);
  });
});

describe('RoomSequence#resubscribed()', () => {
  it('gives each member its own view of a gap: one behind gets the gap, one that joined during the outage only what it lacks', async () => {
    const behind = new RoomRecorder();
    await join(behind);
    history.add(8); // published while the bus was down: nothing arrives
    const ahead = new RoomRecorder();
    await join(ahead); // reads 4..8 from the history
    sequence.resubscribed();
    await settle();
    publish(...history.add(1));
    expect(behind.histories[1]).toMatchObject({ gap: true, missed: 3 });
    expect(behind.ids).toEqual([4, 5, 6, 7, 8, 9]);
    expect(ahead.histories).toHaveLength(1);
    expect(ahead.ids).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('reads from the newest id this process delivered, with the room’s epoch', async () => {
    history.add(2);
    await join(new RoomRecorder());
    history.reads.length = 0;
    sequence.resubscribed();
    await settle();
    expect(history.reads).toEqual([{ since: 2, epoch: 'e1' }]);
  });
});

describe('RoomSequence#remove(member)', () => {
  it('says whether the member was live, still joining, or absent', async () => {
    const live = new RoomRecorder();
    await join(live);
    const joining = new RoomRecorder();
    sequence.seat(joining);
    expect(sequence.remove(live)).toBe('live');
    expect(sequence.remove(joining)).toBe('joining');
    expect(sequence.remove(live)).toBe('absent');
    expect(sequence.size).toBe(0);
  });
});

describe('RoomSequence#presence(frame)', () => {
  it('hands the frame to live members and holds it for joining ones', async () => {
    const seen: string[] = [];
    const member: RoomMember = { deliverHistory() {}, deliverMessage() {}, deliverPresence: (b) => void seen.push(b.json), kick() {} };
    const joining: RoomMember = { deliverHistory() {}, deliverMessage() {}, deliverPresence: (b) => void seen.push(`late ${b.json}`), kick() {} };
    await join(member);
    sequence.seat(joining);
    sequence.presence('{"type":"presence","online":2}');
    expect(seen).toEqual(['{"type":"presence","online":2}']);
    sequence.start(joining, await history.since({}));
    expect(seen).toEqual(['{"type":"presence","online":2}', 'late {"type":"presence","online":2}']);
  });

  it('keeps handing out when one member throws', async () => {
    const broken: RoomMember = { deliverHistory() {}, deliverMessage() { throw new Error("boom"); }, deliverPresence() {}, kick() {} };
    const healthy = new RoomRecorder();
    await join(broken);
    await join(healthy);
    publish(...history.add(1));
    expect(healthy.ids).toEqual([1]);
  });
});
