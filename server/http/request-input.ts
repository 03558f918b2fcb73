import type { ParameterizedContext } from 'koa';
import getRawBody from 'raw-body';
import { ChatError } from '../errors';
import type { Cursor } from '../protocol/types';
import { parseCursor, validateRoom } from '../protocol/validate';

/**
 * Validation at the edge, for every transport: each reader takes the least it needs of a request
 * (a Koa context or a WebSocket handler's request) and throws a ChatError the client can act on.
 */

type Query = Readonly<Record<string, string | string[] | undefined>>;

export function roomParam(request: { readonly params?: Readonly<Record<string, string>> }): string {
  return validateRoom(request.params?.room);
}

export function cursorQuery(request: { readonly query: Query }): Cursor {
  return parseCursor(single(request.query.since), single(request.query.epoch));
}

/** An optional integer query parameter within [min, max]. */
export function intQuery(ctx: { readonly query: Query }, name: string, min: number, max: number): number | undefined {
  const raw = single(ctx.query[name]);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ChatError('bad_request', `"${name}" must be an integer from ${min} to ${max}.`);
  }
  return Number(raw);
}

/**
 * Reads a JSON object body of at most `limitBytes`: 413 `too_long` past it (without reading
 * the rest), 400 `bad_request` for anything that is not a JSON object.
 */
export async function readJsonObject(
  ctx: Pick<ParameterizedContext, 'req' | 'get'>,
  limitBytes: number,
): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('content-length') || undefined });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      throw new ChatError('too_long', `Request bodies are at most ${limitBytes} bytes.`);
    }
    throw new ChatError('bad_request', 'The request body could not be read.', { cause: err });
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ChatError('bad_request', 'The body is not valid UTF-8.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChatError('bad_request', 'The body must be a JSON object: {"user":"…","text":"…","cid":"…"}.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChatError('bad_request', 'The body must be a JSON object: {"user":"…","text":"…","cid":"…"}.');
  }
  return value as Record<string, unknown>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The first value of a query parameter given once or many times. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
