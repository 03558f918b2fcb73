import type { ConnectionState, TransportName } from '../../client';

const LABELS: Record<TransportName, string> = {
  ws: 'WebSocket',
  sse: 'Server-Sent Events',
  longpoll: 'long polling',
  poll: 'polling',
};

/**
 * The connection status (`#status`): `data-state` is the client's state (`connecting`, `open`,
 * `reconnecting`, `offline`, `closed`), `data-transport` the transport in use or tried next, and
 * the text says both in words.
 *
 * @example
 * const status = new StatusView(document.getElementById('status')!);
 * chat.on('state', (state) => status.show(state, chat.transport));
 */
export class StatusView {
  constructor(private readonly element: HTMLElement) {}

  show(state: ConnectionState, transport: TransportName): void {
    this.element.dataset.state = state;
    this.element.dataset.transport = transport;
    this.element.textContent = describe(state, LABELS[transport]);
  }
}

function describe(state: ConnectionState, label: string): string {
  switch (state) {
    case 'connecting':
      return `Connecting · ${label}…`;
    case 'open':
      return `Connected · ${label}`;
    case 'reconnecting':
      return `Reconnecting · ${label}…`;
    case 'offline':
      return 'Offline · messages you send will wait';
    case 'closed':
      return 'Not connected';
  }
}
