import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryEngine, type MemoryEngineOptions } from '../../../server/engine/memory/memory-engine';

const T0 = 1_763_856_000_000;
const MINUTE = 60_000;
let clock: number;
let dir: string;
let path: string;

const open = (options: Partial<MemoryEngineOptions> = {}) =>
  createMemoryEngine({ historyLimit: 5, snapshotPath: path, now: () => clock, ...options });
const send = (engine: ReturnType<typeof open>, room: string, text: string, cid?: string) =>
  engine.history.append(room, { user: 'u', text, cid });
const ids = (slice: { messages: readonly { id: number }[] }) => slice.messages.map((m) => m.id);

beforeEach(() => {
  clock = T0;
  dir = mkdtempSync(join(tmpdir(), 'chat-memory-'));
  path = join(dir, 'data', 'memory.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('MemoryEngine snapshot: a graceful stop and a start', () => {
  it('brings back the same history, epochs, cursors, ids and cid answers', async () => {
    const before = open();
    for (let i = 1; i <= 7; i++) await send(before, 'lobby', `m${i} "技术" 😀`);
    const resend = await send(before, '技术交流', 'hi', 'c-1');
    const empty = await before.history.since('empty'); // v2: a read holds nothing (epoch "")
    const lobby = await before.history.since('lobby');
    const rooms = await before.history.rooms();
    await before.close();
    expect(existsSync(path)).toBe(true);
    expect(readdirSync(join(dir, 'data'))).toEqual(['memory.json']); // no temporary file left

    clock = T0 + 5 * MINUTE;
    const after = open();
    expect(await after.history.since('lobby')).toEqual(lobby);
    expect(await after.history.rooms()).toEqual(rooms);
    expect((await after.history.since('empty')).epoch).toBe(empty.epoch);
    expect(await after.history.since('lobby', { since: 7, epoch: lobby.epoch })).toMatchObject({ gap: false, messages: [] });
    expect(await after.history.since('lobby', { since: 1, epoch: lobby.epoch })).toMatchObject({ gap: true, missed: 1 });
    expect(await send(after, '技术交流', 'again', 'c-1')).toEqual({ ...resend, duplicate: true });
    expect(await send(after, 'lobby', 'm8')).toMatchObject({ message: { id: 8 }, epoch: lobby.epoch });
    clock = T0 + 10 * MINUTE + 1;
    expect(await send(after, '技术交流', 'again', 'c-1')).toMatchObject({ duplicate: false, message: { id: 2 } });
    await after.close();
  });

  it('writes one JSON document, one room then one ban per line, replacing the previous snapshot', async () => {
    const first = open();
    await send(first, 'a', 'x', 'c');
    await first.close();
    const second = open();
    await send(second, 'b', 'y');
    await second.bans.ban('b', { uid: 'u:1' }, T0 + MINUTE);
    await second.close();
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(7);
    expect(text.split('\n')[3]).toBe('],"bans":[');
    const data = JSON.parse(text);
    expect(data).toMatchObject({ format: 'chat-memory-snapshot', version: 1, savedAt: T0 });
    expect(data.rooms.map((r: { room: string }) => r.room)).toEqual(['a', 'b']);
    expect(data.rooms[0].cids).toEqual([{ key: 'cid:c', json: data.rooms[0].messages[0], expiresAt: T0 + 10 * MINUTE }]);
    expect(data.bans).toEqual([{ room: 'b', uid: 'u:1', untilMs: T0 + MINUTE }]);
  });

  it('brings back the bans still in force, by uid and by name, and drops those that ended', async () => {
    const before = open();
    await before.bans.ban('r', { uid: 'u:1' }, T0 + 10 * MINUTE);
    await before.bans.ban('r', { user: 'bob "b"' }, T0 + 20 * MINUTE);
    await before.bans.ban('技术交流', { user: 'bob "b"' }, T0 + 2 * MINUTE);
    await before.bans.ban('r', { user: 'gone' }, T0 + MINUTE);
    clock = T0 + MINUTE;
    await before.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).bans).toHaveLength(3);

    clock = T0 + 5 * MINUTE;
    const after = open();
    expect(after.bans.size()).toBe(2); // the one in 技术交流 ended while stopped
    expect(await after.bans.isBanned('r', { uid: 'u:1', name: 'x' })).toBe(true);
    expect(await after.bans.isBanned('r', { name: 'bob "b"' })).toBe(true);
    expect(await after.bans.isBanned('技术交流', { name: 'bob "b"' })).toBe(false);
    expect(await after.bans.isBanned('r', { name: 'gone' })).toBe(false);
    clock = T0 + 10 * MINUTE;
    expect(await after.bans.isBanned('r', { uid: 'u:1', name: 'x' })).toBe(false);
    await after.close();
  });

  it('brings back tombstones and delete events: a second delete still answers with the first event', async () => {
    const before = open();
    await send(before, 'r', 'secret');
    await send(before, 'r', 'kept');
    const deleted = await before.history.delete('r', 1, { user: 'mod', uid: 'm:1' });
    const slice = await before.history.since('r');
    await before.close();
    expect(readFileSync(path, 'utf8')).not.toContain('secret');

    const after = open();
    expect(await after.history.since('r')).toEqual(slice);
    expect(await after.history.delete('r', 1, { user: 'mod' })).toEqual({ ...deleted, duplicate: true });
    await expect(after.history.delete('r', deleted.event.id, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
    await after.close();
  });

  it('round-trips a snapshot larger than one write', async () => {
    const big = open({ historyLimit: 100 });
    for (let r = 0; r < 30; r++) for (let i = 0; i < 100; i++) await send(big, `room-${r}`, 'x'.repeat(500));
    await big.close();
    expect(readFileSync(path).length).toBeGreaterThan(1.5e6);
    const back = open({ historyLimit: 100 });
    expect(back.history.stats()).toEqual({ rooms: 30, messages: 3000, cids: 0 });
    expect(ids(await back.history.since('room-29'))).toHaveLength(100);
    await back.close();
  });

  it('starts empty when there is no snapshot, and writes none without a snapshotPath', async () => {
    const fresh = open();
    expect(fresh.history.stats()).toEqual({ rooms: 0, messages: 0, cids: 0 });
    await fresh.close();
    const unsaved = createMemoryEngine({ historyLimit: 5 });
    await send(unsaved, 'r', 'x');
    await unsaved.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).rooms).toEqual([]);
  });

  it('drops at start what expired while stopped, and trims to a lowered historyLimit', async () => {
    const before = open({ historyTtlSec: 3600 });
    for (let i = 1; i <= 5; i++) await send(before, 'kept', `m${i}`, `c${i}`);
    clock = T0 + 30 * MINUTE;
    await send(before, 'later', 'x');
    await before.close();
    clock = T0 + 61 * MINUTE;
    const after = open({ historyTtlSec: 3600, historyLimit: 2 });
    expect(after.history.stats()).toEqual({ rooms: 1, messages: 1, cids: 0 });
    await after.close();
    clock = T0 + 1000 * MINUTE;
    const forever = open({ historyLimit: 2 });
    expect((await forever.history.rooms()).map((r) => r.room)).toEqual(['later']);
    await forever.close();
  });
});

describe('MemoryEngine snapshot: a file that cannot be used', () => {
  const write = (text: string) => {
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(path, text);
  };
  const room = (over: Record<string, unknown>) =>
    JSON.stringify({
      format: 'chat-memory-snapshot',
      version: 1,
      savedAt: T0,
      rooms: [{ room: 'r', epoch: 'abcdefghijk', seq: 2, lastActivity: T0, messages: ['{"id":1,"a":1}', '{"id":2,"a":2}'], cids: [], ...over }],
    });

  it.each([
    ['is not JSON', '{"format":"chat-memory-snapshot",', /is not valid JSON/],
    ['is empty', '', /is not valid JSON/],
    ['is some other JSON', '{"hello":"world"}', /is not a memory snapshot this server wrote \(format: /],
    ['has a wrong field', room({ seq: -1 }), /is not a memory snapshot this server wrote \(rooms\.0\.seq: /],
    ['has ids with a hole', room({ messages: ['{"id":1,"a":1}', '{"id":3,"a":2}'], seq: 3 }), /messages\.0 has id 1, but the ids must run up to seq 3 without a hole/],
    ['has a message that is not JSON', room({ messages: ['{"id":1,"a":1}', '{"id":2,'] }), /messages\.1 is not a stored message's JSON/],
    ['names a room twice', JSON.stringify({ ...JSON.parse(room({})), rooms: [...JSON.parse(room({})).rooms, ...JSON.parse(room({})).rooms] }), /rooms\.1, room "r": names a room twice/],
  ])('refuses to start when the file %s, and leaves it as it was', (_, text, problem) => {
    write(text);
    expect(() => open()).toThrow(problem);
    expect(() => open()).toThrow(`The memory engine's snapshot ${path} `);
    expect(() => open()).toThrow(/Move it aside \(or delete it\) to start with an empty history/);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('refuses to start when the file cannot be read', () => {
    mkdirSync(path, { recursive: true }); // a directory where the file should be: EISDIR
    expect(() => open()).toThrow(/snapshot .* could not be read \(EISDIR/);
  });

  it('reads a good file with the same checks', () => {
    write(room({}));
    expect(open().history.stats()).toEqual({ rooms: 1, messages: 2, cids: 0 });
  });

  it('forgets rooms of a file written before v2 that were only read (seq 0): reads hold nothing now', async () => {
    write(room({ room: 'read-only', seq: 0, messages: [] }));
    const engine = open();
    expect(engine.history.stats().rooms).toBe(0);
    expect(await engine.history.since('read-only')).toMatchObject({ epoch: '', last: 0 });
    expect(await engine.history.rooms()).toEqual([]);
    await engine.close();
  });

  it('reads a file written before bans (no "bans" field) as one without bans', async () => {
    write(room({}));
    const engine = open();
    expect(engine.bans.size()).toBe(0);
    expect(await engine.bans.isBanned('r', { name: 'anyone' })).toBe(false);
    await engine.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).bans).toEqual([]);
  });

  it.each([
    ['names neither uid nor user', { room: 'r', untilMs: T0 }],
    ['names both uid and user', { room: 'r', uid: 'u', user: 'n', untilMs: T0 }],
    ['has no room', { uid: 'u', untilMs: T0 }],
    ['has a wrong untilMs', { room: 'r', uid: 'u', untilMs: 'soon' }],
  ])('refuses to start when a ban %s', (_, ban) => {
    write(JSON.stringify({ ...JSON.parse(room({})), bans: [ban] }));
    expect(() => open()).toThrow(/is not a memory snapshot this server wrote \(bans\.0: /);
  });

  it('rejects close() with a sentence when the snapshot cannot be written', async () => {
    const engine = open();
    await send(engine, 'r', 'x');
    writeFileSync(join(dir, 'data'), 'a file where the directory should be');
    await expect(engine.close()).rejects.toThrow(new RegExp(`^Could not write the memory snapshot to ${path}: `));
  });

  it('leaves the previous snapshot whole when a write fails', async () => {
    const first = open();
    await send(first, 'r', 'x');
    await first.close();
    const good = readFileSync(path, 'utf8');
    const second = open();
    await send(second, 'r', 'y');
    mkdirSync(`${path}.${process.pid}.tmp`); // the temporary file cannot be opened: EISDIR
    await expect(second.close()).rejects.toThrow(/EISDIR/);
    expect(readFileSync(path, 'utf8')).toBe(good);
  });
});
