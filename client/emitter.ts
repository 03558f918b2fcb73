/** A listener for one event's payload. */
export type Listener<T> = (payload: T) => void;

/**
 * A tiny typed event emitter (no Node `events`, so it bundles for browsers). A listener that
 * throws does not stop the others or the client: its error is rethrown on its own, as the DOM's
 * EventTarget reports it.
 *
 * @example
 * class Clock extends Emitter<{ tick: number }> {
 *   start() { setInterval(() => this.emit('tick', Date.now()), 1000); }
 * }
 * const stop = new Clock().on('tick', (t) => console.log(t));
 */
export class Emitter<Events extends object> {
  private readonly listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /**
   * Calls `listener` for every `event` from now on; returns a function that removes it.
   *
   * @example
   * const off = chat.on('message', (m) => console.log(m.text));
   * off();
   */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners[event];
    if (!set) this.listeners[event] = set = new Set();
    set.add(listener);
    return () => this.off(event, listener);
  }

  /**
   * Removes a listener added with `on`.
   *
   * @example
   * chat.off('message', onMessage);
   */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners[event]?.delete(listener);
  }

  /** Calls every listener of `event`, in the order they were added. */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners[event];
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
