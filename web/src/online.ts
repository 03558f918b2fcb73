import type { PresenceList, PresenceUser } from '../../client';

/** Presence events come in bursts (a deploy, a tab restoring): one request per burst. */
export const REFRESH_DEBOUNCE_MS = 300;

export interface OnlineListOptions {
  /** Asks the server who is online (`chat.presence()`). */
  load(): Promise<PresenceList>;
  /** Invoked when a moderator presses "Kick" beside `user`; resolves when done. */
  onKick(user: PresenceUser): Promise<void>;
}

/**
 * Who is online (PROTOCOL.md "Presence list"): the list labelled "Online", one `li` per person
 * (`data-uid` when they have one) with their name and, when they have more than one connection,
 * how many; a "Kick" button beside each other member for moderators. The header's `#online`
 * says how many connections the room has.
 *
 * @example
 * const online = new OnlineList(listElement, countElement, { load: () => chat.presence(), onKick });
 * chat.on('presence', (p) => { online.setCount(p.online); online.refreshSoon(); });
 */
export class OnlineList {
  private users: readonly PresenceUser[] = [];
  /** The users as listed, by name: an item's `data-index` points here. */
  private shown: readonly PresenceUser[] = [];
  private moderator = false;
  private selfUid: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private loading = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly list: HTMLElement,
    private readonly count: HTMLElement,
    private readonly options: OnlineListOptions,
  ) {
    list.addEventListener('click', (event) => this.onClick(event));
  }

  /** Shows the room's count of connections ("3 online"). */
  setCount(online: number): void {
    if (this.stopped) return;
    this.count.textContent = `${online} online`;
  }

  /** Asks again in a moment; calls in between are folded into that one request. */
  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, REFRESH_DEBOUNCE_MS);
  }

  /** Asks now (or right after the request in flight). A failed request leaves the list as it was. */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const answer = await this.options.load();
      if (this.stopped) return;
      this.users = answer.users;
      this.setCount(answer.online);
      this.render();
    } catch {
      // Not allowed, not there (an older server) or down: the count from presence events stays.
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    }
  }

  /** Shows or hides the moderators' "Kick" buttons; never beside `selfUid`, the moderator's own entry. */
  setModerator(moderator: boolean, selfUid: string | undefined): void {
    if (moderator === this.moderator && selfUid === this.selfUid) return;
    this.moderator = moderator;
    this.selfUid = selfUid;
    this.render();
  }

  /** Stops asking and empties the list: the client stopped, so who is online is no longer known. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopped = true;
    this.users = [];
    this.render();
    this.count.textContent = '';
  }

  private render(): void {
    this.shown = [...this.users].sort((a, b) => a.name.localeCompare(b.name) || (a.uid ?? '').localeCompare(b.uid ?? ''));
    this.list.replaceChildren(...this.shown.map((user, index) => this.item(user, index)));
  }

  private item(user: PresenceUser, index: number): HTMLLIElement {
    const item = document.createElement('li');
    item.className = 'member';
    item.dataset.index = String(index);
    if (user.uid !== undefined) item.dataset.uid = user.uid;
    const name = document.createElement('span');
    name.className = 'member-name';
    name.dir = 'auto';
    name.textContent = user.name;
    item.append(name);
    if (user.connections > 1) {
      const shown = document.createElement('span');
      shown.className = 'connections';
      shown.setAttribute('aria-hidden', 'true');
      shown.textContent = `×${user.connections}`;
      const said = document.createElement('span');
      said.className = 'visually-hidden';
      said.textContent = ` (${user.connections} connections)`;
      item.append(shown, said);
    }
    if (this.moderator && !(user.uid !== undefined && user.uid === this.selfUid)) {
      const kick = document.createElement('button');
      kick.type = 'button';
      kick.className = 'kick';
      kick.textContent = 'Kick';
      item.append(kick);
    }
    return item;
  }

  private onClick(event: MouseEvent): void {
    const button = (event.target as Element | null)?.closest?.('button.kick');
    const item = button?.closest('li');
    if (!(button instanceof HTMLButtonElement) || !item) return;
    const user = this.shown[Number(item.dataset.index)];
    if (!user) return;
    button.disabled = true;
    this.options.onKick(user).finally(() => {
      button.disabled = false;
    });
  }
}
