import type Koa from 'koa';
import { ChatError, type ErrorCode } from '../errors';
import { errorBody } from '../protocol/wire';

/**
 * The first middleware: maps every error to `{"error":{"code","message"}}` and hides internals
 * (Koa's `ctx.onerror`, in one place). Unexposed errors go to `app.emit('error')` for the log.
 */
export async function errorResponses(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new ChatError('not_found', `Nothing is served at ${ctx.method} ${ctx.path}.`);
    }
  } catch (err) {
    const chatError =
      err instanceof ChatError
        ? err
        : new ChatError(codeForStatus(err), messageOf(err), { expose: exposed(err), cause: err });
    ctx.status = chatError.status;
    ctx.type = 'json';
    ctx.body = errorBody(chatError.code, chatError.expose ? chatError.message : 'Internal server error.');
    if (!chatError.expose) ctx.app.emit('error', err, ctx);
  }
}

/** The protocol's code for an HTTP error thrown by Koa or a body parser. */
function codeForStatus(err: unknown): ErrorCode {
  const status = (err as { status?: number }).status;
  if (status === 413) return 'too_long';
  if (status === 400 || status === 415 || status === 422) return 'bad_request';
  if (status === 404) return 'not_found';
  return 'internal';
}

function exposed(err: unknown): boolean {
  return (err as { expose?: boolean }).expose === true;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
