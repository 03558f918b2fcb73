import { parseClientFrame, parseKickBody } from '../../server/protocol/commands';

describe('parseClientFrame(raw)', () => {
  it('reads a message command', () => {
    expect(parseClientFrame('{"type":"message","text":"hi","cid":"c1"}')).toEqual({
      ok: true,
      command: { type: 'message', text: 'hi', cid: 'c1' },
    });
  });
  it.each(['hello', '42', '"quoted"', '[1,2]', 'null', '{not json', ' \t\r\n{not json', '\u00a0{"type":"message","text":"x"}', 't:1234.5'])('takes %j as the text of a message', (raw) => {
    expect(parseClientFrame(raw)).toEqual({ ok: true, command: { type: 'message', text: raw } });
  });
  it('reads a command after JSON’s leading whitespace, as JSON.parse does', () => {
    expect(parseClientFrame(' \t\r\n{"type":"message","text":"hi"}')).toEqual({ ok: true, command: { type: 'message', text: 'hi' } });
  });
  it.each([
    '{"type":"nope"}',
    '\n {"type":"nope"}',
    '{"type":"message"}',
    '{"type":"message","text":5}',
    '{"type":"message","text":"x","extra":1}',
    '{"type":"message","text":"x","__proto__":{"admin":true}}',
  ])('rejects the malformed command %s with bad_request', (raw) => {
    const parsed = parseClientFrame(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('bad_request');
  });
  it('keeps the cid of a rejected command for the error frame', () => {
    const parsed = parseClientFrame('{"type":"message","text":1,"cid":"c9"}');
    expect(parsed).toMatchObject({ ok: false, cid: 'c9' });
  });
});

describe('parseClientFrame(raw) for moderators', () => {
  it('reads a delete and a kick, by uid or by name, with a ban length', () => {
    expect(parseClientFrame('{"type":"delete","id":7}')).toEqual({ ok: true, command: { type: 'delete', id: 7 } });
    expect(parseClientFrame('{"type":"kick","uid":"u1","seconds":60}')).toEqual({
      ok: true,
      command: { type: 'kick', who: { uid: 'u1' }, seconds: 60 },
    });
    expect(parseClientFrame('{"type":"kick","user":"bob"}')).toEqual({ ok: true, command: { type: 'kick', who: { user: 'bob' } } });
  });

  it.each([
    '{"type":"delete","id":0}',
    '{"type":"delete","id":"7"}',
    '{"type":"kick"}',
    '{"type":"kick","uid":"u","user":"bob"}',
    '{"type":"kick","uid":"u","seconds":0}',
    '{"type":"kick","uid":"u","seconds":31536001}',
    '{"type":"kick","uid":"u","seconds":1.5}',
  ])('rejects %s with bad_request', (raw) => {
    expect(parseClientFrame(raw)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });
});

describe('parseKickBody(body)', () => {
  it('reads a kick and a ban', () => {
    expect(parseKickBody({ uid: 'u1' })).toEqual({ who: { uid: 'u1' } });
    expect(parseKickBody({ user: 'bob', seconds: 31536000 })).toEqual({ who: { user: 'bob' }, seconds: 31536000 });
  });

  it.each([[{}], [{ uid: 'u', seconds: -1 }], [{ uid: 'u', seconds: 'soon' }], [{ uid: 'u', extra: 1 }], [{ uid: 5 }]])(
    'rejects %j with bad_request',
    (body) => {
      expect(() => parseKickBody(body)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    },
  );
});
