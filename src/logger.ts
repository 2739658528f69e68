import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

/** Header values that carry credentials; pino replaces them before a line is written. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
];

/**
 * The one logger factory: JSON lines at the configured level, credentials in request headers
 * redacted. Used by the server (main.ts) and by createApp when no logger is given.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' } };
  return destination ? pino(options, destination) : pino(options);
}
