import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

/** Structured JSON logs on stdout; one child logger per module (`logger.child({ module })`). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid } });
}
