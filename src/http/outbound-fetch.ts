import http from 'node:http';
import https from 'node:https';
import { guardedLookup, isPrivateLiteral } from '../modules/webhook/target-guard.js';

/** Statuses whose responses have no body (Fetch standard's null body statuses). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

export interface OutboundLimits {
  /** Bytes of response body read at most; more aborts the request. */
  maxBytes: number;
  /** Milliseconds for the whole request, connection to last byte. */
  timeoutMs: number;
  /** Allow private, loopback and link-local targets (development only). */
  allowPrivate: boolean;
}

/**
 * `fetch` for every request Gatehouse makes on a tenant's behalf (JWKS documents, back-channel
 * logout, client metadata documents): the outbound policy of webhooks (no private or loopback
 * target unless allowed, checked at connection time against the resolved addresses, so DNS
 * rebinding cannot reach one), no redirects followed, a timeout and a size cap.
 */
export function guardedFetch(limits: OutboundLimits): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`refused: ${url.protocol} is not http(s)`);
    if (isPrivateLiteral(url, limits.allowPrivate)) throw new Error(`refused: ${url.hostname} is a private address`);
    const client = url.protocol === 'https:' ? https : http;
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body);
    return new Promise<Response>((resolve, reject) => {
      const request = client.request(
        url,
        {
          method: init?.method ?? 'GET',
          headers: headerRecord(init?.headers),
          lookup: guardedLookup(limits.allowPrivate),
          timeout: limits.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limits.maxBytes) request.destroy(new Error('response too large'));
            else chunks.push(chunk);
          });
          response.on('end', () => {
            // Built inside a try: `new Response` throws for statuses without a body (204, 205,
            // 304) given one, and for any status outside 200–599; thrown from this listener it
            // would escape the promise and end the process.
            try {
              const status = response.statusCode ?? 502;
              if (status < 200 || status > 599) throw new Error(`unexpected HTTP status ${status}`);
              const headers = new Headers();
              for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
              resolve(new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), { status, headers }));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
          response.on('error', reject);
        },
      );
      // `timeout` above is the socket's idle time only: a peer trickling a byte at a time would
      // hold the request for hours. This bounds the whole exchange.
      const deadline = setTimeout(() => request.destroy(new Error('request took too long')), limits.timeoutMs);
      deadline.unref();
      request.on('close', () => clearTimeout(deadline));
      request.on('timeout', () => request.destroy(new Error('request timed out')));
      request.on('error', reject);
      init?.signal?.addEventListener('abort', () => request.destroy(new Error('aborted')));
      request.end(body);
    });
  }) as typeof fetch;
}

/**
 * Request headers as a plain record. Through `forEach`: when some package's typings bring the DOM
 * library into the program (XML and SAML packages do), its `Headers` has no typed `entries()`.
 */
function headerRecord(init: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}
