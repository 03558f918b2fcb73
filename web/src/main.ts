// The room page: small UI modules on ChatClient, which keeps the cursor, the outbox (with cids)
// and the transport fallback. The page never talks to a transport itself; it shows what the
// client hands it, and hands the client what the user does. Text is only ever set as text.
import {
  ChatClient,
  type ChatErrorInfo,
  type HistoryEvent,
  type Me,
  type PresenceUser,
  type StoredEvent,
  type TransportName,
} from '../../client';
import { Composer } from './composer';
import { gapText, Notices, READ_ONLY_TEXT, refusalText, RESET_TEXT } from './notices';
import { OnlineList } from './online';
import { readPageConfig, type PageConfig } from './page-config';
import { StatusView } from './status';
import { loadName, outboxStore, saveName, SentCids } from './storage';
import { MessageView } from './view';

/** Transports that bring no presence events: the Online list is asked again this often. */
const PRESENCE_POLL_MS = 15_000;
/** A rate-limited send is tried again, with its cid, after about this long. */
const RATE_LIMITED_RETRY_MS = 2000;
/** The page's first reconnect delay ceiling (the library's default is 1 s). */
const RECONNECT_BASE_MS = 500;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The room page has no #${id}.`);
  return found as T;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The transport asked for with `?transport=`, alone, when this browser can run it; else the default order. */
function transportsFor(requested: PageConfig['transport']): TransportName[] | undefined {
  const has = (name: string) => typeof (globalThis as Record<string, unknown>)[name] === 'function';
  const runs: Record<TransportName, boolean> = {
    ws: has('WebSocket'),
    sse: has('EventSource') && has('fetch'),
    longpoll: has('fetch'),
    poll: has('fetch'),
  };
  return requested !== '' && runs[requested] ? [requested] : undefined;
}

function main(): void {
  const config = readPageConfig(document.body);
  const notices = new Notices(element('notice'));
  const status = new StatusView(element('status'));
  const sent = new SentCids(config.room);

  let chat: ChatClient;
  let lastError: ChatErrorInfo | undefined;

  const view = new MessageView(element('messages'), {
    isOwn: (m) => chat.isOwn(m) || (m.text !== undefined && sent.has(m.cid)),
    onDelete: (id) =>
      chat.deleteMessage(id).then(
        (event) => {
          view.markDeleted(event.target);
          notices.set('moderation', null);
        },
        (err: unknown) => notices.set('moderation', `Could not delete the message: ${reasonOf(err)}`),
      ),
  });

  const online = new OnlineList(element('members'), element('online'), {
    load: () => chat.presence(),
    onKick: (user: PresenceUser) =>
      chat.kick(user.uid !== undefined ? { uid: user.uid } : { user: user.name }).then(
        () => {
          notices.set('moderation', `${user.name} was removed from the room.`);
          online.refreshSoon();
        },
        (err: unknown) => notices.set('moderation', `Could not remove ${user.name}: ${reasonOf(err)}`),
      ),
  });

  const composer = new Composer(element<HTMLFormElement>('composer'), {
    maxLength: config.maxLength,
    onSend: (text) => send(text),
    onName: (name) => {
      try {
        chat.setName(name);
      } catch (err) {
        notices.set('send', `That name cannot be used: ${reasonOf(err)}`);
        return;
      }
      notices.set('send', null);
      saveName(name);
    },
    onTooLong: (max) => notices.set('send', `A message is at most ${max} characters.`),
  });
  if (!config.signedIn) composer.suggestName(loadName());
  if (config.moderator) view.setModerator(true);

  const options = {
    room: config.room,
    transports: transportsFor(config.transport),
    outbox: outboxStore(config.room),
    reconnectBaseMs: RECONNECT_BASE_MS,
  };
  try {
    chat = new ChatClient({ ...options, name: composer.name });
  } catch (err) {
    // A remembered name the server would refuse: let the server pick one instead.
    notices.set('send', `That name cannot be used: ${reasonOf(err)}`);
    chat = new ChatClient(options);
  }

  const displayName = () => (chat.me?.uid !== undefined ? chat.me.name : composer.name || chat.me?.name || 'you');

  /** Disables writing and says why: a read-only room. */
  const readOnly = () => {
    composer.setEnabled(false);
    notices.set('access', READ_ONLY_TEXT);
  };

  const applyMe = (me: Me) => {
    if (me.uid !== undefined) composer.fixName(me.name);
    else composer.showAssignedName(me.name);
    if (!me.write) readOnly();
    else if (chat.state !== 'closed') {
      composer.setEnabled(true);
      if (notices.get('access') === READ_ONLY_TEXT) notices.set('access', null);
    }
    view.setModerator(me.mod);
    online.setModerator(me.mod, me.uid);
  };

  const onHistory = (history: HistoryEvent) => {
    if (history.me) applyMe(history.me);
    if (history.reset) {
      view.clear();
      notices.set('history', RESET_TEXT);
    } else if (history.gap) {
      // What is shown stays: it is still this history's, only what came between is lost.
      notices.set('history', gapText(history.missed));
    }
    view.show(history.messages, false);
  };

  /** Sends `cid` until it is stored or refused; rate-limited sends are tried again. */
  const deliver = (text: string, cid: string) => {
    chat.send(text, { cid }).then(
      (stored) => view.settle(cid, stored),
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code === 'rate_limited') {
          setTimeout(() => deliver(text, cid), RATE_LIMITED_RETRY_MS * (0.75 + Math.random() / 2));
          return;
        }
        view.fail(cid, reasonOf(err));
        if (code === 'forbidden') readOnly();
      },
    );
  };

  const send = (text: string) => {
    notices.set('send', null);
    const cid = chat.newCid();
    sent.add(cid);
    view.showPending(cid, text, displayName());
    deliver(text, cid);
  };

  const onClosed = () => {
    composer.setEnabled(false);
    online.stop();
    notices.set('access', refusalText(lastError?.code, lastError?.message));
  };

  chat.on('history', onHistory);
  chat.on('message', (message: StoredEvent) => view.show([message], true));
  chat.on('presence', (presence) => {
    online.setCount(presence.online);
    online.refreshSoon();
  });
  chat.on('error', (error) => {
    lastError = error;
  });
  chat.on('state', (state) => {
    status.show(state, chat.transport);
    if (state === 'open') void online.refresh();
    if (state === 'closed') onClosed();
  });

  // Typed before a reload and never stored: shown again and sent again, once, with its cid.
  for (const { cid, text } of chat.pending) {
    view.showPending(cid, text, displayName());
    deliver(text, cid);
  }

  const presencePoll = setInterval(() => {
    if (chat.state === 'closed') clearInterval(presencePoll);
    else if (chat.state === 'open' && (chat.transport === 'poll' || chat.transport === 'longpoll')) void online.refresh();
  }, PRESENCE_POLL_MS);

  composer.focus();
}

main();
