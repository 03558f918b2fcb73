import { ChatError } from '../../server/errors';
import {
  parseCursor,
  validateCid,
  validateRoom,
  validateText,
  validateUser,
} from '../../server/protocol/validate';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ChatError ? err.code : 'not a ChatError';
  }
  return undefined;
}

describe('validateRoom(room)', () => {
  it.each(['lobby', 'dev-chat', 'a_b', '技术交流', 'x'.repeat(64)])('accepts %s', (room) => {
    expect(validateRoom(room)).toBe(room);
  });
  it.each(['', 'a b', 'a/b', 'x'.repeat(65), 'lobby!', '<script>'])('rejects %j with bad_request', (room) => {
    expect(codeOf(() => validateRoom(room))).toBe('bad_request');
  });
});

describe('validateUser(name)', () => {
  it('trims the name', () => expect(validateUser('  alice ')).toBe('alice'));
  it.each([undefined, '', '   '])('picks a guest-xxxx name for %j', (name) => {
    expect(validateUser(name)).toMatch(/^guest-[0-9a-f]{4}$/);
  });
  it('counts code points, not UTF-16 units', () => expect(validateUser('😀'.repeat(32))).toHaveLength(64));
  it.each(['x'.repeat(33), 'a\u0000b', 'a\nb', '\ud800'])('rejects %j', (name) => {
    expect(codeOf(() => validateUser(name))).toBe('bad_request');
  });
});

describe('validateText(text, max)', () => {
  it('returns the trimmed text and keeps inner newlines', () => expect(validateText('  hi\nthere ', 10)).toBe('hi\nthere'));
  it('rejects blank text with bad_request', () => expect(codeOf(() => validateText('  ', 10))).toBe('bad_request'));
  it('rejects a non-string with bad_request', () => expect(codeOf(() => validateText(42, 10))).toBe('bad_request'));
  it('rejects text over max code points with too_long', () => {
    expect(validateText('é'.repeat(10), 10)).toHaveLength(10);
    expect(codeOf(() => validateText('é'.repeat(11), 10))).toBe('too_long');
  });
  it('rejects control characters and lone surrogates', () => {
    expect(codeOf(() => validateText('a\u0007b', 10))).toBe('bad_request');
    expect(codeOf(() => validateText('a\udc00b', 10))).toBe('bad_request');
  });
});

describe('validateCid(cid)', () => {
  it('accepts a short string and undefined', () => {
    expect(validateCid('c-1')).toBe('c-1');
    expect(validateCid(undefined)).toBeUndefined();
  });
  it.each(['', 'x'.repeat(65), 7])('rejects %j', (cid) => expect(codeOf(() => validateCid(cid))).toBe('bad_request'));
});

describe('parseCursor(since, epoch)', () => {
  it('reads since and epoch', () => expect(parseCursor('42', 'abc_-1')).toEqual({ since: 42, epoch: 'abc_-1' }));
  it('treats empty values as absent', () => expect(parseCursor('', undefined)).toEqual({}));
  it.each(['-1', '1.5', 'x', '9'.repeat(16)])('rejects since=%j', (since) => {
    expect(codeOf(() => parseCursor(since, undefined))).toBe('bad_request');
  });
  it('rejects a malformed epoch', () => expect(codeOf(() => parseCursor('1', 'a b'))).toBe('bad_request'));
});

describe('validateRoom(room), amended in v2', () => {
  it.each(['हिन्दी', 'தமிழ்', 'café', 'cafe\u0301'])('accepts %s, which needs combining marks', (room) => {
    expect(validateRoom(room)).toBe(room.normalize('NFC'));
  });

  it('makes café typed either way one room', () => {
    expect(validateRoom('cafe\u0301')).toBe(validateRoom('caf\u00e9'));
  });
});

describe('validateUser(user), amended in v2', () => {
  it.each([
    ['a right-to-left override', 'li\u202Eve'],
    ['a left-to-right isolate', '\u2066admin\u2069'],
    ['a zero-width space', 'ad\u200Bmin'],
    ['a right-to-left mark', 'admin\u200F'],
    ['a leading byte-order mark, which trimming would hide', '\uFEFFadmin'],
  ])('refuses %s with bad_request', (_, name) => {
    expect(codeOf(() => validateUser(name))).toBe('bad_request');
  });

  it('normalizes to NFC', () => {
    expect(validateUser('Rene\u0301')).toBe('René');
  });
});
