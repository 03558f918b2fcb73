import type { StoredEvent, TextMessage } from '../../client';

/** What a deleted message shows instead of its text (PROTOCOL.md "Moderation"). */
export const DELETED_TEXT = 'message deleted';

/** Within this many pixels of the bottom, the list follows new messages. */
const STICKY_PX = 80;

export interface MessageViewOptions {
  /** True for our own messages (by the client's cids, this tab's cids, or our uid; never by name). */
  isOwn(message: StoredEvent): boolean;
  /** Invoked when a moderator presses a message's "Delete message" button; resolves when done. */
  onDelete(id: number): Promise<void>;
}

/**
 * The message list (`#messages`): one `li[data-id]` per stored message, in id order, with its
 * `.user` and `.text` set only as text, never as HTML; sends not stored yet as `li.pending[data-cid]`
 * below them (`li.failed` when refused); deleted messages keep their element, marked `data-deleted`, with "message deleted"
 * for text. Delete events are not shown: they mark their target.
 *
 * @example
 * const view = new MessageView(list, { isOwn: (m) => chat.isOwn(m), onDelete: (id) => chat.deleteMessage(id).then(() => {}) });
 * chat.on('message', (m) => view.show([m], true));
 */
export class MessageView {
  private readonly items = new Map<number, HTMLLIElement>();
  private newest = 0;
  private moderator = false;

  constructor(
    private readonly list: HTMLElement,
    private readonly options: MessageViewOptions,
  ) {
    list.addEventListener('click', (event) => this.onClick(event));
  }

  /**
   * Shows stored events in id order: messages and tombstones as items, delete events as marks
   * on their targets. An id already shown is never shown twice. A history scrolls to the newest;
   * `live` events keep the reader's scroll position unless they were at the bottom.
   */
  show(events: readonly StoredEvent[], live: boolean): void {
    const stick = this.nearBottom();
    for (const event of events) this.add(event);
    if (stick || (!live && events.length > 0)) this.scrollDown();
  }

  /** Drops every stored message shown (the history was reset); pending sends stay. */
  clear(): void {
    for (const item of this.items.values()) item.remove();
    this.items.clear();
    this.newest = 0;
  }

  /** Shows a send that is not stored yet, below the stored messages. */
  showPending(cid: string, text: string, user: string): void {
    if (this.pendingItem(cid)) return;
    const item = this.render({ user, text, ts: Date.now() }, true);
    item.dataset.cid = cid;
    item.classList.add('pending');
    item.querySelector('time')!.textContent = 'sending…';
    this.list.append(item);
    this.scrollDown();
  }

  /**
   * The send `cid` was stored as `message`. Usually the message itself came first and took the
   * pending item's place; otherwise (an HTTP answer before the next poll, or a gap that swallowed
   * it) the item stays, no longer pending, until the message comes. It never takes the message's
   * id itself: after a reset that id may belong to another message.
   */
  settle(cid: string, message: TextMessage): void {
    const item = this.pendingItem(cid);
    if (!item) return;
    if (this.items.has(message.id)) {
      item.remove();
      return;
    }
    item.classList.remove('pending');
    setTime(item.querySelector('time')!, message.ts);
  }

  /** The send `cid` was refused: its item stays, marked, with the reason. */
  fail(cid: string, reason: string): void {
    const item = this.pendingItem(cid);
    if (!item) return;
    item.classList.remove('pending');
    item.classList.add('failed');
    item.querySelector('time')!.textContent = `not sent: ${reason}`;
  }

  /** Marks message `id` deleted, when it is shown. */
  markDeleted(id: number): void {
    const item = this.items.get(id);
    if (item) showDeleted(item);
  }

  /** Shows or hides the moderators' "Delete message" button on every message. */
  setModerator(moderator: boolean): void {
    if (moderator === this.moderator) return;
    this.moderator = moderator;
    for (const item of this.items.values()) {
      const button = item.querySelector('button.delete');
      if (!moderator) button?.remove();
      else if (!button && item.dataset.deleted === undefined) item.querySelector('.meta')!.append(deleteButton());
    }
  }

  private add(event: StoredEvent): void {
    if (event.kind === 'delete') {
      this.markDeleted(event.target);
      return;
    }
    const shown = this.items.get(event.id);
    if (shown) {
      if (event.deleted) this.markDeleted(event.id);
      return;
    }
    if (!event.deleted && event.cid !== undefined) this.pendingItem(event.cid)?.remove();
    const item = this.render(event, this.options.isOwn(event));
    item.dataset.id = String(event.id);
    if (event.uid !== undefined) item.dataset.uid = event.uid;
    if (event.deleted) showDeleted(item);
    else if (this.moderator) item.querySelector('.meta')!.append(deleteButton());
    this.insert(event.id, item);
    this.items.set(event.id, item);
  }

  /** Stored messages go in id order, above the pending sends. */
  private insert(id: number, item: HTMLLIElement): void {
    if (id > this.newest) {
      this.newest = id;
      this.list.insertBefore(item, this.list.querySelector('li[data-cid]:not([data-id])'));
      return;
    }
    // Older than the newest shown (a send's answer came before the messages around it).
    for (const [shownId, shown] of [...this.items].sort((a, b) => a[0] - b[0])) {
      if (shownId > id) {
        this.list.insertBefore(item, shown);
        return;
      }
    }
  }

  private render(message: { user: string; ts: number; text?: string }, own: boolean): HTMLLIElement {
    const item = document.createElement('li');
    item.className = own ? 'msg mine' : 'msg';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const who = document.createElement('span');
    who.className = 'user';
    who.dir = 'auto';
    who.textContent = message.user;
    const when = document.createElement('time');
    setTime(when, message.ts);
    meta.append(who, when);
    const text = document.createElement('p');
    text.className = 'text';
    text.dir = 'auto';
    text.textContent = message.text ?? '';
    item.append(meta, text);
    return item;
  }

  private pendingItem(cid: string): HTMLLIElement | undefined {
    for (const item of this.list.querySelectorAll<HTMLLIElement>('li[data-cid]:not([data-id])')) {
      if (item.dataset.cid === cid) return item;
    }
    return undefined;
  }

  private onClick(event: MouseEvent): void {
    const button = (event.target as Element | null)?.closest?.('button.delete');
    const item = button?.closest('li');
    if (!(button instanceof HTMLButtonElement) || !item?.dataset.id) return;
    button.disabled = true;
    this.options.onDelete(Number(item.dataset.id)).finally(() => {
      button.disabled = false;
    });
  }

  private nearBottom(): boolean {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < STICKY_PX;
  }

  private scrollDown(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

function setTime(element: HTMLTimeElement, ts: number): void {
  element.dateTime = new Date(ts).toISOString();
  element.textContent = new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The item keeps its place and its `data-id`; its text gives way to "message deleted". */
function showDeleted(item: HTMLLIElement): void {
  if (item.dataset.deleted !== undefined) return;
  item.dataset.deleted = '';
  item.classList.add('deleted');
  const text = item.querySelector('.text')!;
  text.textContent = DELETED_TEXT;
  text.removeAttribute('dir');
  item.querySelector('button.delete')?.remove();
}

/** "Delete message" for screen readers, "Delete" on screen. */
function deleteButton(): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'delete';
  const rest = document.createElement('span');
  rest.className = 'visually-hidden';
  rest.textContent = ' message';
  button.append('Delete', rest);
  return button;
}
