import type { TransportName } from '../../client';

/** What the server rendered into `<body data-…>` for the page's script (room.njk). */
export interface PageConfig {
  readonly room: string;
  /** The name the page opened with (`?name=`, or the token's name): may be empty. */
  readonly name: string;
  /** The transport asked for with `?transport=`, or '' for the default order with fallback. */
  readonly transport: TransportName | '';
  readonly maxLength: number;
  /** The server found the room read-only for this visitor. */
  readonly readOnly: boolean;
  /** A token names the user: the name field is the token's and read-only. */
  readonly signedIn: boolean;
  /** The token lets the user moderate this room. */
  readonly moderator: boolean;
}

const TRANSPORTS = new Set<string>(['ws', 'sse', 'longpoll', 'poll']);

/**
 * Reads the page's configuration from `<body>`: `data-room`, `data-name`, `data-transport`,
 * `data-max-length`, and the flags `data-read-only`, `data-signed-in`, `data-moderator`.
 *
 * @example
 * const config = readPageConfig(document.body);
 */
export function readPageConfig(body: HTMLElement): PageConfig {
  const data = body.dataset;
  const transport = data.transport ?? '';
  const maxLength = Number(data.maxLength);
  return {
    room: data.room ?? '',
    name: data.name ?? '',
    transport: TRANSPORTS.has(transport) ? (transport as TransportName) : '',
    maxLength: Number.isInteger(maxLength) && maxLength > 0 ? maxLength : 2000,
    readOnly: data.readOnly !== undefined,
    signedIn: data.signedIn !== undefined,
    moderator: data.moderator !== undefined,
  };
}
