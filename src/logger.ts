import pino, { type DestinationStream, type LogFn, type Logger } from 'pino';
import type { Config } from './config.js';
import { describeDatabaseError, isDatabaseError } from './db/db-errors.js';

/** Header values that carry credentials; pino replaces them before a line is written. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
];

/** Causes followed at most; a longer (or circular) chain is cut. */
const MAX_CAUSE_DEPTH = 8;

/** Whether a database error sits anywhere in the chain of causes (AppError → DriverException, …). */
function reachesDatabaseError(error: unknown, depth = 0): boolean {
  if (isDatabaseError(error)) return true;
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return false;
  const nested = Array.isArray((error as AggregateError).errors) ? (error as AggregateError).errors : [];
  return reachesDatabaseError(error.cause, depth + 1) || nested.some((inner) => reachesDatabaseError(inner, depth + 1));
}

/**
 * The `err` serializer: pino's own, except that database errors, wherever they sit in a chain of
 * causes, are reduced to their SQLSTATE, constraint, table and column. pino's serializer would
 * write their message and stack, where the driver puts the statement with its bound values
 * (users' personal data, token hashes), and PostgreSQL's `detail`, which quotes the key.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (isDatabaseError(error)) return describeDatabaseError(error);
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH || !reachesDatabaseError(error)) return pino.stdSerializers.err(error as Error);
  // pino appends each cause's message and stack to the outer ones: serialize the outer error
  // alone (a copy without its causes), then each cause on its own.
  const { cause, errors } = error as Error & { errors?: unknown };
  const alone = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error, {
    message: error.message,
    stack: error.stack,
    cause: undefined,
    errors: undefined,
  });
  return {
    ...pino.stdSerializers.err(alone),
    cause: cause === undefined ? undefined : serializeError(cause, depth + 1),
    ...(Array.isArray(errors) ? { aggregateErrors: errors.map((inner) => serializeError(inner, depth + 1)) } : {}),
  };
}

/**
 * Keeps a database error's message out of the line's `msg` too: pino uses an error's message as
 * `msg` when the error is logged alone (`log.error(err)`), and Fastify passes `err.message` as
 * `msg` when it logs a failed request.
 */
function withoutDatabaseMessage(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [first, ...rest] = args as unknown[];
  const error = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
  if (!isDatabaseError(error)) return method.apply(this, args);
  const safe = describeDatabaseError(error).message;
  const [message, ...interpolation] = rest;
  const scrubbed = typeof message === 'string' ? message.replaceAll(error.message, safe) : first === error ? safe : message;
  const merged = first === error ? { err: error } : first;
  return method.apply(this, (scrubbed === undefined ? [merged] : [merged, scrubbed, ...interpolation]) as Parameters<LogFn>);
}

/**
 * The one logger factory: JSON lines at the configured level, credentials in request headers
 * redacted, database errors without their SQL. Used by the server (main.ts) and by createApp
 * when no logger is given.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: { err: serializeError },
    hooks: { logMethod: withoutDatabaseMessage },
  };
  return destination ? pino(options, destination) : pino(options);
}
