/**
 * A bot that joins a room and answers `!time` with the server's time: the `ts` the server gave
 * the `!time` message itself. It runs on the client library in Node, with `ws` and `eventsource`
 * standing in for the browser's WebSocket and EventSource.
 *
 *   node --import tsx examples/time-bot.ts [URL] [ROOM]
 *   CHAT_URL=http://127.0.0.1:3000 CHAT_ROOM=lobby CHAT_NAME=time-bot node --import tsx examples/time-bot.ts
 *
 * Ctrl-C closes the client, and the process exits by itself.
 */
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { ChatClient, type StoredEvent } from '../client';

const url = process.argv[2] ?? process.env.CHAT_URL ?? 'http://127.0.0.1:3000';
const room = process.argv[3] ?? process.env.CHAT_ROOM ?? 'lobby';
const name = process.env.CHAT_NAME ?? 'time-bot';

const chat = new ChatClient({ url, room, name, WebSocket, EventSource });
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

chat.on('state', (state) => log(`${state} (${chat.transport}) ${url} #${room}`));
chat.on('error', (error) => log(`error ${error.code}: ${error.message}`));
// History is what was said before (or while we were away): only live messages get an answer.
chat.on('message', (message) => void answer(message));

async function answer(message: StoredEvent): Promise<void> {
  if (message.text?.trim() !== '!time') return;
  const serverTime = new Date(message.ts).toISOString();
  try {
    const reply = await chat.send(`@${message.user} the server time is ${serverTime}`);
    log(`answered ${message.user} (#${message.id}) with #${reply.id}`);
  } catch (err) {
    log(`could not answer ${message.user}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: closing`);
    chat.close();
  });
}
