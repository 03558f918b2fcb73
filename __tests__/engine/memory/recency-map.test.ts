import { RecencyMap } from '../../../server/engine/memory/recency-map';

const keys = (entries: IterableIterator<[string, unknown]>) => [...entries].map(([key]) => key);

describe('RecencyMap#touch(key, value)', () => {
  it('keeps entries in order of last touch, readable from both ends', () => {
    const map = new RecencyMap<number>();
    map.touch('a', 1);
    map.touch('b', 2);
    map.touch('c', 3);
    map.touch('a', 4);
    expect(keys(map.oldestFirst())).toEqual(['b', 'c', 'a']);
    expect([...map.newestFirst()]).toEqual([['a', 4], ['c', 3], ['b', 2]]);
    expect([map.size, map.get('a'), map.get('z')]).toEqual([3, 4, undefined]);
  });

  it('touching the newest entry again only replaces its value', () => {
    const map = new RecencyMap<number>();
    map.touch('a', 1);
    map.touch('b', 2);
    map.touch('b', 3);
    expect([...map.oldestFirst()]).toEqual([['a', 1], ['b', 3]]);
  });
});

describe('RecencyMap#delete(key)', () => {
  it('unlinks an entry at either end or in the middle', () => {
    const map = new RecencyMap<number>();
    for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) map.touch(key, i);
    expect([map.delete('c'), map.delete('a'), map.delete('e'), map.delete('zz')]).toEqual([true, true, true, false]);
    expect(keys(map.oldestFirst())).toEqual(['b', 'd']);
    expect(keys(map.newestFirst())).toEqual(['d', 'b']);
    map.delete('b');
    map.delete('d');
    expect([map.size, keys(map.oldestFirst()), keys(map.newestFirst())]).toEqual([0, [], []]);
    map.touch('f', 9);
    expect(keys(map.newestFirst())).toEqual(['f']);
  });

  it('lets a walk delete the entry it just got, from either end', () => {
    const map = new RecencyMap<number>();
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) map.touch(key, i);
    for (const [key, value] of map.oldestFirst()) if (value < 2) map.delete(key);
    expect(keys(map.newestFirst())).toEqual(['d', 'c']);
    for (const [key] of map.newestFirst()) map.delete(key);
    expect(map.size).toBe(0);
  });
});
