import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

/** The logger shared by the server (main.ts), createApp's default and the operator commands. */
describe('createLogger', () => {
  it('takes its level from the configuration and never writes credentials from request headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ ...loadConfig({}), logLevel: 'debug' }, sink);
    expect(logger.level).toBe('debug');
    logger.info(
      { req: { headers: { authorization: 'Bearer gh_live_secret', cookie: 'session=secret', accept: 'json' } } },
      'request',
    );
    logger.info({ headers: { authorization: 'Bearer gh_live_secret' } }, 'outgoing');
    const text = lines.join('');
    expect(text).not.toContain('secret');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(3);
    expect(text).toContain('"accept":"json"');
    logger.trace('hidden');
    expect(lines.join('')).not.toContain('hidden');
  });
});
