import { MessageSender } from '../../server/chat/send-message';
import type { AppendOptions, AppendResult, HistoryStore } from '../../server/engine/engine';
import { ChatError } from '../../server/errors';
import type { ChatMetrics } from '../../server/metrics';
import { NO_METRICS } from '../../server/metrics';
import type { Visitor } from '../../server/auth/access';
import { READ_ONLY, READ_WRITE } from '../../server/auth/rights';
import type { MessageDraft } from '../../server/protocol/types';

const ann: Visitor = { name: 'ann', rights: READ_WRITE };

/**
 * A history that stores in an array; a cid seen before answers with the first message; the
 * sender named `banned` is banned, refused when the append asks for it (as the engines do).
 */
class ArrayHistory implements Pick<HistoryStore, 'append'> {
  readonly drafts: MessageDraft[] = [];
  async append(room: string, draft: MessageDraft, options: AppendOptions = {}): Promise<AppendResult> {
    if (options.refuseBanned && draft.user === 'banned') throw new ChatError('banned', 'banned');
    const first = draft.cid === undefined ? -1 : this.drafts.findIndex((d) => d.cid === draft.cid);
    if (first < 0) this.drafts.push(draft);
    const id = first < 0 ? this.drafts.length : first + 1;
    const stored = first < 0 ? draft : this.drafts[first]!;
    return { message: { id, json: JSON.stringify({ id, room, ...stored }) }, duplicate: first >= 0, epoch: 'E' };
  }
}

const allowance = (left: number) => ({ take: () => left-- > 0 });
let history: ArrayHistory;
let counted: { stored: number; limited: number };
let sender: MessageSender;

beforeEach(() => {
  history = new ArrayHistory();
  counted = { stored: 0, limited: 0 };
  const metrics: ChatMetrics = {
    ...NO_METRICS,
    messageStored: () => void counted.stored++,
    rateLimited: () => void counted.limited++,
  };
  sender = new MessageSender({ history: history as unknown as HistoryStore, maxMessageLength: 10, metrics });
});

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'stored',
    (err: unknown) => (err instanceof ChatError ? err.code : String(err)),
  );

describe('MessageSender#send(room, fields, allowance)', () => {
  it('stores the trimmed text under the validated name and counts it once', async () => {
    const { message, duplicate } = await sender.send('r', { text: ' hi ', cid: 'c1' }, ann, allowance(5));
    expect(JSON.parse(message.json)).toMatchObject({ id: 1, user: 'ann', text: 'hi', cid: 'c1' });
    expect(duplicate).toBe(false);
    expect(counted.stored).toBe(1);
  });

  it('answers a repeated cid with the first message and does not count it again', async () => {
    await sender.send('r', { text: 'hi', cid: 'c1' }, ann, allowance(5));
    const again = await sender.send('r', { text: 'hi', cid: 'c1' }, ann, allowance(5));
    expect(again).toMatchObject({ duplicate: true, message: { id: 1 } });
    expect(counted.stored).toBe(1);
  });

  it('refuses bad fields before taking from the allowance or storing', async () => {
    const spent = allowance(1);
    expect(await codeOf(sender.send('r', { text: 'x'.repeat(11) }, ann, spent))).toBe('too_long');
    expect(await codeOf(sender.send('r', { text: '   ' }, ann, spent))).toBe('bad_request');
    expect(await codeOf(sender.send('r', { text: 'hi', cid: 7 }, ann, spent))).toBe('bad_request');
    expect(history.drafts).toEqual([]);
    expect(await codeOf(sender.send('r', { text: 'hi' }, ann, spent))).toBe('stored');
  });

  it('refuses with rate_limited once the allowance is spent, stores nothing and counts the refusal', async () => {
    const two = allowance(2);
    await sender.send('r', { text: 'a' }, ann, two);
    await sender.send('r', { text: 'b' }, ann, two);
    expect(await codeOf(sender.send('r', { text: 'c' }, ann, two))).toBe('rate_limited');
    expect(history.drafts).toHaveLength(2);
    expect(counted).toEqual({ stored: 2, limited: 1 });
  });

  it('stores under the visitor’s name and uid, never a name the fields carry', async () => {
    const user: Visitor = { name: 'Ann Lee', uid: 'u-42', rights: READ_WRITE };
    const { message } = await sender.send('r', { user: 'admin', text: 'hi' }, user, allowance(1));
    expect(JSON.parse(message.json)).toMatchObject({ user: 'Ann Lee', uid: 'u-42' });
  });

  it('refuses a reader with forbidden, and an expired token with unauthorized, before anything else', async () => {
    const reader: Visitor = { name: 'ann', rights: READ_ONLY };
    const expired: Visitor = { name: 'ann', uid: 'u', rights: READ_WRITE, expiresAt: Date.now() - 1 };
    expect(await codeOf(sender.send('r', { text: 'x'.repeat(99) }, reader, allowance(1)))).toBe('forbidden');
    expect(await codeOf(sender.send('r', { text: 'hi' }, expired, allowance(1)))).toBe('unauthorized');
    expect(history.drafts).toEqual([]);
  });

  it('refuses a banned visitor with banned and stores nothing; the backend is outside bans and the rate limit', async () => {
    const banned: Visitor = { name: 'banned', rights: READ_WRITE };
    expect(await codeOf(sender.send('r', { text: 'hi' }, banned, allowance(5)))).toBe('banned');
    const backend: Visitor = { name: 'banned', rights: READ_WRITE, backend: true };
    expect(await codeOf(sender.send('r', { text: 'hi' }, backend, allowance(0)))).toBe('stored');
    expect(history.drafts).toHaveLength(1);
  });
});

describe('MessageSender#send with a cid another sender used', () => {
  it('refuses it with bad_request instead of answering with the other sender’s message', async () => {
    const history = new ArrayHistory();
    const sender = new MessageSender({
      history: history as unknown as HistoryStore,
      maxMessageLength: 100,
      metrics: NO_METRICS,
    });
    await sender.send('r', { text: 'mine', cid: 'deploy-43' }, { name: 'eve', rights: READ_WRITE }, allowance(5));
    const backend: Visitor = { name: 'CI', rights: READ_WRITE, backend: true };
    expect(await codeOf(sender.send('r', { text: 'Deploy ok', cid: 'deploy-43' }, backend, allowance(5)))).toBe('bad_request');
    // The sender who stored it gets its message back, as always.
    expect((await sender.send('r', { text: 'mine', cid: 'deploy-43' }, { name: 'eve', rights: READ_WRITE }, allowance(5))).duplicate).toBe(true);
  });
});
