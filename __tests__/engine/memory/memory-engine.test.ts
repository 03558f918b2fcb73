import { createMemoryEngine, type MemoryEngine } from '../../../server/engine/memory/memory-engine';
import { createLogger } from '../../../server/logger';
import { RoomHub, type RoomMember } from '../../../server/rooms/hub';
import { PresenceAnnouncer } from '../../../server/rooms/presence-announcer';
import { RoomRecorder } from '../../helpers/room-recorder';
import { BusRecorder } from '../bus-behaviour';
import { describeEngineBehaviour } from '../history-behaviour';

describeEngineBehaviour('memory', async ({ historyLimit, historyTtlSec }) => {
  // The real clock, plus whatever the test lets pass at once.
  let skipped = 0;
  const engine = createMemoryEngine({ historyLimit, historyTtlSec, now: () => Date.now() + skipped });
  return {
    engine,
    dispose: () => engine.close(),
    elapse: async (ms) => void (skipped += ms),
    footprint: async () => engine.history.stats().rooms,
  };
});

// What only the memory engine has: no connection to lose, one process, and its own end.

let engine: MemoryEngine;
beforeEach(() => {
  engine = createMemoryEngine({ historyLimit: 5 });
});
afterEach(() => engine.close());

describe('createMemoryEngine(options)', () => {
  it.each([
    [{ historyLimit: 0 }, 'historyLimit must be an integer of at least 1'],
    [{ historyLimit: 1.5 }, 'historyLimit must be an integer of at least 1'],
    [{ historyLimit: 5, historyTtlSec: -1 }, 'historyTtlSec must be an integer of at least 0 (0 keeps rooms forever)'],
    [{ historyLimit: 5, sweepIntervalMs: 0 }, 'sweepIntervalMs must be a positive number of milliseconds'],
  ])('refuses %j with a sentence', (options, message) => {
    expect(() => createMemoryEngine(options)).toThrow(new TypeError(message));
  });

  it('is named memory and answers healthy until it is closed', async () => {
    expect(engine.name).toBe('memory');
    expect(await engine.healthy()).toBe(true);
    await engine.close();
    expect(await engine.healthy()).toBe(false);
  });
});

describe('MemoryEngine#close()', () => {
  it('refuses every later call with unavailable, as a Redis engine that is gone does', async () => {
    await engine.close();
    await expect(engine.history.append('r', { user: 'u', text: 'x' })).rejects.toMatchObject({ code: 'unavailable', status: 503 });
    await expect(engine.history.since('r')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.history.rooms()).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.presence.update('r', 1, undefined)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.bus.subscribe('r')).rejects.toThrow('The memory engine has stopped');
    await expect(engine.history.delete('r', 1, { user: 'mod' })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.bans.ban('r', { uid: 'u' }, Date.now() + 1000)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.bans.isBanned('r', { name: 'u' })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.bus.kick('r', { uid: 'u' })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.presence.setMember('r', { name: 'u', connections: 1 })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(engine.presence.members('r')).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('drops deliveries still queued, and returns the same promise when called again', async () => {
    const rec = new BusRecorder();
    engine.bus.listen(rec);
    await engine.bus.subscribe('r');
    void engine.history.append('r', { user: 'u', text: 'x' });
    const closing = engine.close();
    expect(engine.close()).toBe(closing);
    await closing;
    await new Promise((r) => setTimeout(r, 10));
    expect(rec.events).toEqual([]);
  });
});

describe('MemoryRoomBus', () => {
  it('delivers after the append has resolved, never inside it', async () => {
    const rec = new BusRecorder();
    engine.bus.listen(rec);
    await engine.bus.subscribe('r');
    const appending = engine.history.append('r', { user: 'u', text: 'x' });
    expect(rec.events).toEqual([]);
    await appending;
    await rec.waitFor(1);
  });

  it('keeps delivering to the other listeners when one throws, and reports it', async () => {
    const errors: unknown[] = [];
    const withHook = createMemoryEngine({ historyLimit: 5, onError: (err) => errors.push(err) });
    const rec = new BusRecorder();
    withHook.bus.listen({
      message: () => {
        throw new Error('boom');
      },
      presence: () => undefined,
      kick: () => undefined,
      resubscribed: () => undefined,
    });
    withHook.bus.listen(rec);
    await withHook.bus.subscribe('r');
    await withHook.history.append('r', { user: 'u', text: 'x' });
    await rec.waitFor(1);
    expect(errors).toEqual([new Error('boom')]);
    await withHook.close();
  });

  it('delivers a kick after the call has resolved, as a target object of its own', async () => {
    const got: unknown[] = [];
    engine.bus.listen({ message: () => undefined, presence: () => undefined, kick: (_, who) => got.push(who), resubscribed: () => undefined });
    await engine.bus.subscribe('r');
    const who = { uid: 'u:1', extra: 'not sent' };
    const kicking = engine.bus.kick('r', who);
    expect(got).toEqual([]);
    await kicking;
    await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([{ uid: 'u:1' }]);
    expect(got[0]).not.toBe(who);
  });

  it('never announces resubscribed: nothing here can disconnect', async () => {
    const rec = new BusRecorder();
    engine.bus.listen(rec);
    await engine.bus.subscribe('r');
    await engine.history.append('r', { user: 'u', text: 'x' });
    await rec.waitFor(1);
    expect(rec.resubscriptions).toBe(0);
  });
});

describe('RoomHub over the memory engine', () => {
  it('hands members the history, then live messages and presence in order', async () => {
    const logger = createLogger('silent');
    const presence = new PresenceAnnouncer({ store: engine.presence, log: logger });
    const hub = new RoomHub({ history: engine.history, bus: engine.bus, presence, logger });
    const frames: string[] = [];
    const recorder = new RoomRecorder('ann');
    const member: RoomMember = {
      name: 'ann',
      deliverHistory: (slice) => recorder.deliverHistory(slice),
      deliverMessage: (broadcast) => recorder.deliverMessage(broadcast),
      deliverPresence: (broadcast) => frames.push(broadcast.json),
      kick: () => recorder.kick(),
    };
    try {
      await engine.history.append('r', { user: 'u', text: 'before' });
      const slice = await hub.join('r', member, {});
      for (let i = 0; i < 7; i++) await engine.history.append('r', { user: 'u', text: `m${i}` });
      const start = Date.now();
      // Presence goes out at the end of the join's turn (joins in one turn are one update).
      while ((recorder.ids.length < 8 || frames.length < 1) && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 5));
      expect(recorder.ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(recorder.epochs).toEqual(new Array(7).fill(slice.epoch));
      expect(frames).toEqual(['{"type":"presence","room":"r","online":1,"joined":"ann"}']);
    } finally {
      hub.close();
      await presence.close();
    }
  });
});
