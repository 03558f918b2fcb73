/**
 * One event for every member of a room in this process. Each transport encodes it through
 * `encode()`, which runs its encoder once per event and hands the same result to every member:
 * a message is serialized and framed once per process, never once per member.
 *
 * @example
 * const wsFrame = (b: Broadcast) => prepareFrame(`{"type":"message",${b.json.slice(1)}`);
 * socket.write(broadcast.encode(wsFrame));
 */
export class Broadcast {
  private cache: Map<Encoder<unknown>, unknown> | undefined;

  constructor(
    readonly kind: 'message' | 'presence',
    readonly room: string,
    /** The canonical JSON: a stored message, or a complete presence frame. */
    readonly json: string,
    /** The message id (0 for presence). */
    readonly id: number,
    /** The room's history epoch, for transports whose cursors carry it (SSE event ids). */
    readonly epoch: string,
  ) {}

  /** Returns `encoder(this)`, computed on the first call and reused after. */
  encode<T>(encoder: Encoder<T>): T {
    this.cache ??= new Map();
    if (this.cache.has(encoder)) return this.cache.get(encoder) as T;
    const value = encoder(this);
    this.cache.set(encoder, value);
    return value;
  }
}

/** Encoders are module-level functions: their identity is the cache key. */
export type Encoder<T> = (broadcast: Broadcast) => T;
