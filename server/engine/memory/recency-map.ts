interface Node<V> {
  readonly key: string;
  value: V;
  older: Node<V> | undefined;
  newer: Node<V> | undefined;
}

/**
 * A map kept in order of last use, readable from either end at O(1) per entry: the memory
 * engine's `chat:rooms`. The newest end answers the lobby (`rooms(50)` looks at 50 entries,
 * however many rooms there are) and the oldest end the expiry sweep (it stops at the first
 * room still alive). A plain `Map` keeps insertion order but cannot be read from the end.
 *
 * @example
 * const rooms = new RecencyMap<number>();
 * rooms.touch('a', 1);
 * rooms.touch('b', 2);
 * rooms.touch('a', 3);
 * [...rooms.newestFirst()]; // [['a', 3], ['b', 2]]
 */
export class RecencyMap<V> {
  private readonly nodes = new Map<string, Node<V>>();
  private oldest: Node<V> | undefined;
  private newest: Node<V> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  get(key: string): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Sets `key` to `value` and makes it the newest entry. */
  touch(key: string, value: V): void {
    let node = this.nodes.get(key);
    if (node) {
      node.value = value;
      if (node === this.newest) return;
      this.unlink(node);
    } else {
      node = { key, value, older: undefined, newer: undefined };
      this.nodes.set(key, node);
    }
    node.older = this.newest;
    if (this.newest) this.newest.newer = node;
    this.newest = node;
    this.oldest ??= node;
  }

  delete(key: string): boolean {
    const node = this.nodes.get(key);
    if (!node) return false;
    this.unlink(node);
    this.nodes.delete(key);
    return true;
  }

  /** The entries, least recently touched first. Deleting the entry just yielded is safe. */
  *oldestFirst(): IterableIterator<[string, V]> {
    for (let node = this.oldest; node; ) {
      const next = node.newer;
      yield [node.key, node.value];
      node = next;
    }
  }

  /** The entries, most recently touched first. Deleting the entry just yielded is safe. */
  *newestFirst(): IterableIterator<[string, V]> {
    for (let node = this.newest; node; ) {
      const next = node.older;
      yield [node.key, node.value];
      node = next;
    }
  }

  private unlink(node: Node<V>): void {
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
    node.older = undefined;
    node.newer = undefined;
  }
}
