import type { HistorySlice } from '../../server/protocol/types';
import {
  ackFrame,
  errorBody,
  errorFrame,
  historyFrame,
  idOf,
  messageFrame,
  messagesJson,
  pollAnswer,
  pollAnswerForMessage,
  presenceFrameParts,
  sentAnswer,
  sseHistory,
  sseMessageEvent,
  ssePresenceEvent,
  sseRetry,
  storedMessageParts,
} from '../../server/protocol/wire';

const m1 = { id: 1, json: '{"id":1,"room":"r","user":"u","text":"a","ts":5}' };
const m2 = { id: 2, json: '{"id":2,"room":"r","user":"u","text":"b","ts":6,"cid":"c"}' };
const slice = (over: Partial<HistorySlice> = {}): HistorySlice => ({
  room: 'r',
  epoch: 'E',
  last: 2,
  messages: [m1, m2],
  gap: false,
  missed: null,
  ...over,
});

describe('storedMessageParts(room, draft)', () => {
  it('serializes the fields an engine wraps with id and ts, escaping what JSON must', () => {
    const parts = storedMessageParts('r', { user: 'a"b', text: '<b>\n', cid: 'c1' });
    expect(JSON.parse(`{"id":7,${parts.fields},"ts":1${parts.cidField}}`)).toEqual({
      id: 7, room: 'r', user: 'a"b', text: '<b>\n', ts: 1, cid: 'c1',
    });
    expect(storedMessageParts('r', { user: 'u', text: 't' }).cidField).toBe('');
  });
});

describe('idOf(json) and messagesJson(messages)', () => {
  it('reads the id from canonical message JSON', () => expect(idOf('{"id":1234,"room":"x"}')).toBe(1234));
  it('joins stored JSON into an array without parsing it', () => {
    expect(JSON.parse(messagesJson([m1, m2]))).toEqual([JSON.parse(m1.json), JSON.parse(m2.json)]);
    expect(messagesJson([])).toBe('[]');
  });
});

describe('WebSocket frames', () => {
  it('historyFrame(slice) carries room, epoch, messages and gap, and missed only beside a gap', () => {
    expect(JSON.parse(historyFrame(slice()))).toEqual({
      type: 'history', room: 'r', epoch: 'E', messages: [JSON.parse(m1.json), JSON.parse(m2.json)], gap: false,
    });
    expect(JSON.parse(historyFrame(slice({ gap: true, missed: 3 })))).toMatchObject({ gap: true, missed: 3 });
    expect(JSON.parse(historyFrame(slice({ gap: true, missed: null })))).not.toHaveProperty('missed');
  });

  it('messageFrame(json, epoch) is the message with its type and the room’s epoch first', () => {
    expect(messageFrame(m2.json, 'E')).toBe('{"type":"message","epoch":"E","id":2,"room":"r","user":"u","text":"b","ts":6,"cid":"c"}');
  });

  it('ackFrame(cid, id) and errorFrame(code, message, cid?)', () => {
    expect(JSON.parse(ackFrame('c"1', 9))).toEqual({ type: 'ack', cid: 'c"1', id: 9 });
    expect(JSON.parse(errorFrame('too_long', 'Too long.', 'c1'))).toEqual({ type: 'error', code: 'too_long', message: 'Too long.', cid: 'c1' });
    expect(JSON.parse(errorFrame('bad_request', 'No.'))).toEqual({ type: 'error', code: 'bad_request', message: 'No.' });
  });

  it('presenceFrameParts(room, change) wraps the total the engine computes', () => {
    const frame = (change: Parameters<typeof presenceFrameParts>[1]) => {
      const { prefix, suffix } = presenceFrameParts('r', change);
      return JSON.parse(`${prefix}3${suffix}`);
    };
    expect(frame({ joined: 'ann' })).toEqual({ type: 'presence', room: 'r', online: 3, joined: 'ann' });
    expect(frame({ left: 'bob' })).toEqual({ type: 'presence', room: 'r', online: 3, left: 'bob' });
    expect(frame(undefined)).toEqual({ type: 'presence', room: 'r', online: 3 });
  });
});

describe('HTTP answers', () => {
  it('pollAnswer(slice, limit?) keeps the newest `limit` and always says last', () => {
    expect(JSON.parse(pollAnswer(slice()))).toEqual({
      room: 'r', epoch: 'E', messages: [JSON.parse(m1.json), JSON.parse(m2.json)], last: 2, gap: false,
    });
    expect(JSON.parse(pollAnswer(slice(), 1)).messages.map((m: { id: number }) => m.id)).toEqual([2]);
    expect(JSON.parse(pollAnswer(slice({ gap: true, missed: 4 })))).toMatchObject({ gap: true, missed: 4 });
  });

  it('pollAnswerForMessage(room, epoch, message) answers a woken long poll', () => {
    expect(JSON.parse(pollAnswerForMessage('r', 'E', m2))).toEqual({
      room: 'r', epoch: 'E', messages: [JSON.parse(m2.json)], last: 2, gap: false,
    });
  });

  it('sentAnswer(message) and errorBody(code, message)', () => {
    expect(JSON.parse(sentAnswer(m1))).toEqual({ message: JSON.parse(m1.json) });
    expect(JSON.parse(errorBody('not_found', 'Nope.'))).toEqual({ error: { code: 'not_found', message: 'Nope.' } });
  });
});

describe('Server-Sent Events', () => {
  it('sseRetry(ms), sseMessageEvent(epoch, id, json) and ssePresenceEvent(frame)', () => {
    expect(sseRetry(3000)).toBe('retry: 3000\n\n');
    expect(sseMessageEvent('E', 2, m2.json)).toBe(`id: E:2\nevent: message\ndata: ${m2.json}\n\n`);
    expect(ssePresenceEvent('{"online":1}')).toBe('event: presence\ndata: {"online":1}\n\n');
  });

  it('sseHistory(slice) sends the gap, the replay, then ready with the cursor as its id', () => {
    expect(sseHistory(slice({ gap: true, missed: 3 }))).toBe(
      'event: gap\ndata: {"missed":3,"epoch":"E"}\n\n' +
        sseMessageEvent('E', 1, m1.json) +
        sseMessageEvent('E', 2, m2.json) +
        'id: E:2\nevent: ready\ndata: {"epoch":"E","last":2}\n\n',
    );
  });

  it('sseHistory(slice) announces a gap also when there is nothing to replay', () => {
    expect(sseHistory(slice({ messages: [], last: 0, gap: true, missed: null }))).toBe(
      'event: gap\ndata: {"missed":null,"epoch":"E"}\n\nid: E:0\nevent: ready\ndata: {"epoch":"E","last":0}\n\n',
    );
  });
});
