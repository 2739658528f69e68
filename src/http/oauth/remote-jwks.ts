import http from 'node:http';
import https from 'node:https';
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { guardedLookup, isPrivateLiteral } from '../../modules/webhook/target-guard.js';

const MAX_JWKS_BYTES = 64 * 1024;
const TIMEOUT_MS = 5_000;

/**
 * `fetch` for JWKS documents of clients and trusted issuers: the same outbound policy as
 * webhooks (no private or loopback targets unless allowed, checked at connection time against
 * the resolved addresses), a short timeout and a size cap.
 */
function guardedFetch(allowPrivate: boolean): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (isPrivateLiteral(url, allowPrivate)) throw new Error(`refused: ${url.hostname} is a private address`);
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const request = client.request(
        url,
        { method: 'GET', headers: Object.fromEntries(new Headers(init?.headers).entries()), lookup: guardedLookup(allowPrivate), timeout: TIMEOUT_MS },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_JWKS_BYTES) request.destroy(new Error('JWKS document too large'));
            else chunks.push(chunk);
          });
          response.on('end', () =>
            resolve(new Response(Buffer.concat(chunks), { status: response.statusCode ?? 502, headers: { 'content-type': String(response.headers['content-type'] ?? '') } })),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('JWKS request timed out')));
      request.on('error', reject);
      init?.signal?.addEventListener('abort', () => request.destroy(new Error('aborted')));
      request.end();
    });
  }) as typeof fetch;
}

/** A key resolver over a remote JWKS, refetched on unknown key ids (at most every 30 s) and every 10 min. */
export function remoteJwks(uri: string, allowPrivate: boolean): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(uri), {
    timeoutDuration: TIMEOUT_MS,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
    [customFetch]: guardedFetch(allowPrivate),
  });
}
