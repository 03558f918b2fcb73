import { ChatClient, ChatClientError, type ChatClientOptions, type PendingSend, type TextMessage } from '../../client';
import { fakeTransports, msg, settle } from './helpers/fake-transport';
import { record } from './helpers/record';

beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] }));
afterEach(() => jest.useRealTimers());

async function start(options: Partial<ChatClientOptions> = {}) {
  const transports = fakeTransports();
  const chat = new ChatClient({
    url: 'http://chat.test',
    room: 'lobby',
    name: 'alice',
    createTransport: transports.factory,
    fetch: () => Promise.reject(new Error('offline')),
    ...options,
  });
  const seen = record(chat);
  await settle();
  return { chat, transports, seen };
}

/** The stored message for a send, as the server echoes it with its cid. */
const stored = (id: number, text: string, cid: string): TextMessage => msg(id, { user: 'alice', text, cid });

async function reconnect(transports: ReturnType<typeof fakeTransports>): Promise<void> {
  transports.last.drop({ opened: true });
  await jest.advanceTimersByTimeAsync(1000);
  await settle();
}

describe('chat.send(text)', () => {
  it('queues a send made before the connection opens and sends it, with a cid, once it is open', async () => {
    const { chat, transports } = await start();
    const sent = chat.send('hello');
    expect(chat.pending).toEqual([{ cid: expect.any(String), text: 'hello' }]);
    expect(transports.last.sends).toHaveLength(0);
    transports.last.open();
    expect(transports.last.sends.map((s) => s.draft)).toEqual([{ text: 'hello', cid: chat.pending[0]!.cid }]);
    const { cid } = transports.last.sends[0]!.draft;
    transports.last.sends[0]!.resolve({ id: 1 });
    transports.last.deliver(stored(1, 'hello', cid));
    await expect(sent).resolves.toMatchObject({ id: 1, text: 'hello', cid });
    expect(chat.pending).toEqual([]);
    chat.close();
  });

  it('resolves with the stored message of a POST answer without waiting for it to come back', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    const sent = chat.send('over http');
    const { cid } = transports.last.sends[0]!.draft;
    transports.last.sends[0]!.resolve({ id: 3, message: stored(3, 'over http', cid) });
    await expect(sent).resolves.toMatchObject({ id: 3, cid });
    chat.close();
  });

  it('resends with the same cid after a reconnect and resolves once, with the one stored message', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open();
    const resolved = jest.fn();
    const sent = chat.send('once').then(resolved);
    const first = transports.last;
    const { cid } = first.sends[0]!.draft;
    await reconnect(transports);
    // The first connection's answer never came; the next one sends the same cid again.
    first.sends[0]!.reject(new ChatClientError('disconnected', 'gone', cid));
    transports.last.open();
    expect(transports.last.sends.map((s) => s.draft.cid)).toEqual([cid]);
    transports.last.sends[0]!.resolve({ id: 1 });
    transports.last.deliver(stored(1, 'once', cid));
    transports.last.deliver(stored(1, 'once', cid));
    await sent;
    expect(resolved).toHaveBeenCalledTimes(1);
    expect(seen.messages.map((m) => m.id)).toEqual([1]);
    chat.close();
  });

  it('does not resend a send whose message the reconnect history brings back (it was stored before the drop)', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    const sent = chat.send('stored already');
    const { cid } = transports.last.sends[0]!.draft;
    await reconnect(transports);
    transports.last.open({ messages: [stored(1, 'stored already', cid)] });
    expect(transports.last.sends).toHaveLength(0);
    await expect(sent).resolves.toMatchObject({ id: 1, cid });
    chat.close();
  });

  it.each(['too_long', 'rate_limited', 'bad_request', 'forbidden'])(
    'rejects with %s, reports it, forgets the send and keeps the connection',
    async (code) => {
      const { chat, transports, seen } = await start();
      transports.last.open();
      const sent = chat.send('refused');
      const { cid } = transports.last.sends[0]!.draft;
      transports.last.sends[0]!.reject(new ChatClientError(code, `no: ${code}`, cid));
      await expect(sent).rejects.toMatchObject({ name: 'ChatClientError', code, cid });
      expect(seen.errors).toEqual([{ code, message: `no: ${code}`, cid }]);
      expect(chat.pending).toEqual([]);
      expect(chat.state).toBe('open');
      chat.close();
    },
  );

  it('keeps a send that met unavailable (it may not be stored) and resends it with the same cid after a pause', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open();
    const sent = chat.send('retry me');
    const { cid } = transports.last.sends[0]!.draft;
    transports.last.sends[0]!.reject(new ChatClientError('unavailable', 'store down', cid));
    await settle();
    expect(seen.errors).toEqual([{ code: 'unavailable', message: 'store down', cid }]);
    expect(transports.last.sends).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(transports.last.sends.map((s) => s.draft.cid)).toEqual([cid, cid]);
    transports.last.sends[1]!.resolve({ id: 9, message: stored(9, 'retry me', cid) });
    await expect(sent).resolves.toMatchObject({ id: 9 });
    chat.close();
  });

  it('keeps at most 16 sends on the wire, sending the next as answers come', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    const all = Array.from({ length: 20 }, (_, i) => chat.send(`m${i}`));
    expect(transports.last.sends).toHaveLength(16);
    transports.last.sends[0]!.resolve({ id: 1 });
    await settle();
    expect(transports.last.sends).toHaveLength(17);
    expect(transports.last.sends.map((s) => s.draft.text)).toEqual(Array.from({ length: 17 }, (_, i) => `m${i}`));
    chat.close();
    await Promise.allSettled(all);
  });

  it('resolves a send whose ack came but whose message a gap swallowed, with what was stored', async () => {
    const { chat, transports } = await start();
    transports.last.open({ messages: [msg(1)] });
    const sent = chat.send('lost in a gap');
    transports.last.sends[0]!.resolve({ id: 2 });
    await settle();
    transports.last.deliver(msg(3));
    await expect(sent).resolves.toMatchObject({ id: 2, text: 'lost in a gap', room: 'lobby' });
    chat.close();
  });

  it('rejects an empty text at once, without sending it', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    await expect(chat.send('   ')).rejects.toMatchObject({ code: 'bad_request' });
    expect(transports.last.sends).toHaveLength(0);
    chat.close();
  });

  it('returns the pending promise for a cid it already holds', async () => {
    const { chat, transports } = await start();
    const a = chat.send('x', { cid: 'my-cid-1' });
    const b = chat.send('x', { cid: 'my-cid-1' });
    expect(a).toBe(b);
    transports.last.open();
    expect(transports.last.sends).toHaveLength(1);
    chat.close();
    await Promise.allSettled([a]);
  });
});

describe('new ChatClient({ outbox })', () => {
  it('sends again what the store kept from before a reload, and saves each change', async () => {
    const saved: PendingSend[][] = [];
    const store = { load: () => [{ cid: 'page-1', text: 'typed before reload' }], save: (p: readonly PendingSend[]) => void saved.push([...p]) };
    const { chat, transports, seen } = await start({ outbox: store });
    expect(chat.pending).toEqual([{ cid: 'page-1', text: 'typed before reload' }]);
    transports.last.open();
    expect(transports.last.sends.map((s) => s.draft)).toEqual([{ cid: 'page-1', text: 'typed before reload' }]);
    const later = chat.send('new one');
    expect(saved.at(-1)!.map((p) => p.text)).toEqual(['typed before reload', 'new one']);
    transports.last.sends[0]!.resolve({ id: 1 });
    transports.last.deliver(stored(1, 'typed before reload', 'page-1'));
    expect(saved.at(-1)!.map((p) => p.text)).toEqual(['new one']);
    expect(seen.messages[0]).toMatchObject({ cid: 'page-1' });
    chat.close();
    await expect(later).rejects.toMatchObject({ code: 'closed' });
    // close() leaves the store as it was: a later client sends it.
    expect(saved.at(-1)!.map((p) => p.text)).toEqual(['new one']);
  });
});

describe('chat.close()', () => {
  it('rejects the sends still waiting with closed', async () => {
    const { chat } = await start();
    const sent = chat.send('never');
    chat.close();
    await expect(sent).rejects.toMatchObject({ code: 'closed' });
    await expect(chat.send('after')).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('chat.isOwn(message)', () => {
  it("tells this client's messages by their cid (or uid), never by name", async () => {
    const store = { load: () => [{ cid: 'before-reload-1', text: 'old' }], save: () => undefined };
    const { chat, transports } = await start({ outbox: store });
    transports.last.open({ me: { name: 'alice', uid: 'u-1', write: true, mod: false } });
    const sent = chat.send('mine');
    const { cid } = transports.last.sends.find((s) => s.draft.text === 'mine')!.draft;
    transports.last.deliver(stored(1, 'mine', cid));
    await sent;
    expect(chat.isOwn(stored(1, 'mine', cid))).toBe(true);
    expect(chat.isOwn(stored(2, 'old', 'before-reload-1'))).toBe(true);
    expect(chat.isOwn(msg(3, { user: 'alice' }))).toBe(false);
    expect(chat.isOwn(msg(4, { cid: 'someone-else-1' }))).toBe(false);
    expect(chat.isOwn(msg(5, { uid: 'u-1' }))).toBe(true);
    chat.close();
  });
});
