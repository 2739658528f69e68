import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { guardedFetch } from '../outbound-fetch.js';

const MAX_JWKS_BYTES = 64 * 1024;
const TIMEOUT_MS = 5_000;

/** A key resolver over a remote JWKS, refetched on unknown key ids (at most every 30 s) and every 10 min. */
export function remoteJwks(uri: string, allowPrivate: boolean): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(uri), {
    timeoutDuration: TIMEOUT_MS,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
    [customFetch]: guardedFetch({ maxBytes: MAX_JWKS_BYTES, timeoutMs: TIMEOUT_MS, allowPrivate }),
  });
}
