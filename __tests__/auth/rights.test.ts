import { matches, MODERATOR, NO_RIGHTS, READ_ONLY, READ_WRITE, rightsFor, ROOM_PATTERN_SYNTAX } from '../../server/auth/rights';

describe('matches(pattern, room)', () => {
  it.each([
    ['lobby', 'lobby', true],
    ['lobby', 'lobby2', false],
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'teams', false],
    ['*', 'anything', true],
    ['技术*', '技术交流', true],
  ])('%s covers %s: %s', (pattern, room, expected) => expect(matches(pattern, room)).toBe(expected));
});

describe('ROOM_PATTERN_SYNTAX', () => {
  it.each(['lobby', 'team-*', '*', 'café', '技术*'])('accepts %s', (p) => expect(ROOM_PATTERN_SYNTAX.test(p)).toBe(true));
  it.each(['', '**', 'a*b', 'a b', '*a', 'x'.repeat(65)])('refuses %j', (p) => expect(ROOM_PATTERN_SYNTAX.test(p)).toBe(false));
});

describe('rightsFor(grants, room)', () => {
  it('gives every room to read and write when rooms is absent', () => {
    expect(rightsFor({}, 'any')).toBe(READ_WRITE);
  });

  it('gives nothing outside rooms, read and mod', () => {
    expect(rightsFor({ rooms: ['team-*'] }, 'lobby')).toBe(NO_RIGHTS);
    expect(rightsFor({ rooms: [] }, 'lobby')).toBe(NO_RIGHTS);
  });

  it('makes a room named in read read-only, even where rooms (or its default) would allow writing', () => {
    expect(rightsFor({ read: ['news'] }, 'news')).toBe(READ_ONLY);
    expect(rightsFor({ rooms: ['*'], read: ['news'] }, 'news')).toBe(READ_ONLY);
    expect(rightsFor({ rooms: ['*'], read: ['news'] }, 'lobby')).toBe(READ_WRITE);
  });

  it('gives moderators everything, over read and rooms', () => {
    expect(rightsFor({ rooms: [], read: ['team-*'], mod: ['team-a'] }, 'team-a')).toBe(MODERATOR);
    expect(rightsFor({ rooms: [], read: ['team-*'], mod: ['team-a'] }, 'team-b')).toBe(READ_ONLY);
  });
});
