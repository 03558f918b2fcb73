import type { ErrorCode } from '../../client';

/**
 * What a notice is about; each kind shows at most one notice, in this order: who may do what
 * here (refusals, a read-only room), the history (gaps, resets), the last send that failed, the
 * last moderation step.
 */
export type NoticeKind = 'access' | 'history' | 'send' | 'moderation';

const ORDER: readonly NoticeKind[] = ['access', 'history', 'send', 'moderation'];

/** The read-only notice, worded as the server renders it (room.njk). */
export const READ_ONLY_TEXT = 'You can read this room but not write in it.';

/**
 * The notices above the messages (`#notice`, an alert region): one paragraph per kind, so a gap
 * never hides why the message box is disabled. Hidden when there is none.
 *
 * @example
 * const notices = new Notices(document.getElementById('notice')!);
 * notices.set('history', gapText(10)); // "10 earlier messages could not be loaded."
 * notices.set('history', null);
 */
export class Notices {
  constructor(private readonly container: HTMLElement) {}

  /** Shows `text` as the notice of `kind` (replacing the one before), or removes it (`null`). */
  set(kind: NoticeKind, text: string | null): void {
    let item = this.container.querySelector<HTMLElement>(`[data-kind="${kind}"]`);
    if (text === null) {
      item?.remove();
    } else {
      if (!item) {
        item = document.createElement('p');
        item.className = 'notice';
        item.dataset.kind = kind;
        const next = ORDER.slice(ORDER.indexOf(kind) + 1)
          .map((k) => this.container.querySelector(`[data-kind="${k}"]`))
          .find((found) => found !== null);
        this.container.insertBefore(item, next ?? null);
      }
      item.textContent = text;
    }
    this.container.hidden = this.container.childElementCount === 0;
  }

  /** The text of the notice of `kind`, or null. */
  get(kind: NoticeKind): string | null {
    return this.container.querySelector(`[data-kind="${kind}"]`)?.textContent ?? null;
  }
}

/** "N earlier messages could not be loaded." (or "Some…" when the server does not know how many). */
export function gapText(missed: number | null): string {
  if (missed === null || missed <= 0) return 'Some earlier messages could not be loaded.';
  return `${missed} earlier message${missed === 1 ? '' : 's'} could not be loaded.`;
}

/** The history was cleared or expired: what was shown is gone. */
export const RESET_TEXT = 'The room’s history was reset; showing what it holds now.';

/** Why the client stopped for good, in plain words (it does not retry these). */
export function refusalText(code: ErrorCode | undefined, serverMessage: string | undefined): string {
  switch (code) {
    case 'unauthorized':
      return 'Your sign-in has expired. Reload the page to sign in again.';
    case 'forbidden':
      return 'You do not have access to this room.';
    case 'banned':
      return 'A moderator banned you from this room for now.';
    case 'kicked':
      return 'A moderator removed you from this room.';
    case 'bad_request':
      return `Cannot join this room: ${serverMessage ?? 'refused'}`;
    default:
      return `Disconnected${serverMessage ? `: ${serverMessage}` : '.'}`;
  }
}
