import type { Engine, MemberRef, RoomBusListener } from '../../server/engine/engine';

/** What a bus listener heard, in order: `message ROOM JSON`, `presence ROOM FRAME` or `kick ROOM WHO-AS-JSON`. */
export class BusRecorder implements RoomBusListener {
  readonly events: string[] = [];
  resubscriptions = 0;
  message(room: string, json: string): void {
    this.events.push(`message ${room} ${json}`);
  }
  presence(room: string, frame: string): void {
    this.events.push(`presence ${room} ${frame}`);
  }
  kick(room: string, who: MemberRef): void {
    this.events.push(`kick ${room} ${JSON.stringify(who)}`);
  }
  resubscribed(): void {
    this.resubscriptions++;
  }
  /** Resolves once `count` events arrived (delivery may come after the publishing call). */
  async waitFor(count: number): Promise<string[]> {
    const start = Date.now();
    while (this.events.length < count) {
      if (Date.now() - start > 5000) throw new Error(`expected ${count} events, got ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.events;
  }
}

/**
 * The bus and presence part of the shared behaviour (see history-behaviour.ts): registered by
 * `describeEngineBehaviour`, on the engine that `current` returns for the running test.
 */
export function describeBusBehaviour(name: string, current: () => Engine): void {
  let engine: Engine;
  beforeEach(() => {
    engine = current();
  });

  describe(`${name}: RoomBus`, () => {
    it('hands every listener each stored message of a subscribed room, in order', async () => {
      const [one, two] = [new BusRecorder(), new BusRecorder()];
      engine.bus.listen(one);
      engine.bus.listen(two);
      await engine.bus.subscribe('lobby');
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push((await engine.history.append('lobby', { user: 'u', text: `m${i}` })).message.json);
      const expected = sent.map((json) => `message lobby ${json}`);
      expect(await one.waitFor(5)).toEqual(expected);
      expect(await two.waitFor(5)).toEqual(expected);
    });

    it('hands nothing from a room not subscribed, unsubscribed, or for a repeated cid', async () => {
      const rec = new BusRecorder();
      engine.bus.listen(rec);
      await engine.bus.subscribe('gone');
      await engine.bus.unsubscribe('gone');
      await engine.bus.subscribe('here');
      await engine.history.append('elsewhere', { user: 'u', text: 'x' });
      await engine.history.append('gone', { user: 'u', text: 'x' });
      const first = await engine.history.append('here', { user: 'u', text: 'x', cid: 'c' });
      await engine.history.append('here', { user: 'u', text: 'x', cid: 'c' });
      const sentinel = await engine.history.append('here', { user: 'u', text: 'end' });
      // Delivery keeps publication order, so nothing can still arrive once the sentinel has.
      expect(await rec.waitFor(2)).toEqual([`message here ${first.message.json}`, `message here ${sentinel.message.json}`]);
    });

    it('stops handing events to a listener that stopped listening', async () => {
      const [stopped, kept] = [new BusRecorder(), new BusRecorder()];
      const stop = engine.bus.listen(stopped);
      engine.bus.listen(kept);
      await engine.bus.subscribe('lobby');
      stop();
      await engine.history.append('lobby', { user: 'u', text: 'x' });
      await kept.waitFor(1);
      expect(stopped.events).toEqual([]);
    });
  });

  describe(`${name}: PresenceStore`, () => {
    it('sums the counts and publishes the frame to the room’s listeners', async () => {
      const rec = new BusRecorder();
      engine.bus.listen(rec);
      await engine.bus.subscribe('lobby');
      expect(await engine.presence.update('lobby', 2, { joined: 'alice' })).toBe(2);
      expect(await engine.presence.update('lobby', 1, { left: 'bob "b"' })).toBe(1);
      expect(await engine.presence.update('lobby', 3, undefined)).toBe(3);
      expect(await engine.presence.update('other', 1, { joined: 'x' })).toBe(1);
      expect(await engine.presence.update('lobby', 0, { left: 'alice' })).toBe(0);
      expect(await rec.waitFor(4)).toEqual([
        'presence lobby {"type":"presence","room":"lobby","online":2,"joined":"alice"}',
        'presence lobby {"type":"presence","room":"lobby","online":1,"left":"bob \\"b\\""}',
        'presence lobby {"type":"presence","room":"lobby","online":3}',
        'presence lobby {"type":"presence","room":"lobby","online":0,"left":"alice"}',
      ]);
    });

    it('reads several rooms at once, 0 where nobody is, and refreshes without publishing', async () => {
      const rec = new BusRecorder();
      engine.bus.listen(rec);
      await engine.bus.subscribe('a');
      await engine.presence.update('a', 2, undefined);
      await engine.presence.update('b', 5, undefined);
      await engine.presence.refresh(new Map([['a', 4], ['c', 1]]), new Map());
      const online = await engine.presence.online(['a', 'b', 'c', 'nobody']);
      expect([...online]).toEqual([['a', 4], ['b', 5], ['c', 1], ['nobody', 0]]);
      await engine.history.append('a', { user: 'u', text: 'sentinel' });
      expect((await rec.waitFor(2)).map((e) => e.split(' ')[0])).toEqual(['presence', 'message']);
    });
  });

  describe(`${name}: Engine`, () => {
    it('answers healthy while it runs', async () => {
      expect(await engine.healthy()).toBe(true);
    });
  });
}
