// What the oidc-provider comparison servers (bench/token/oidc-provider-server.mjs,
// bench/signin/oidc-provider-server.mjs) share: their ES256 signing key, the one resource server
// they issue JWT access tokens for, and serving until SIGTERM/SIGINT.
import http from 'node:http';
import { generateKeyPair } from 'jose';
import { errors } from 'oidc-provider';
import { es256Jwk } from './oauth.mjs';

/** A new private ES256 JWK (with kid, alg, use) for the provider's own tokens. */
export async function signingJwk() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return es256Jwk(privateKey);
}

/**
 * The `resourceIndicators` feature for the one resource server `resource` (scopes read and
 * write, ES256 JWT access tokens for 1 h), also the default resource.
 */
export function resourceIndicators(resource) {
  const resourceServer = {
    scope: 'read write',
    audience: resource,
    accessTokenFormat: 'jwt',
    accessTokenTTL: 3600,
    jwt: { sign: { alg: 'ES256' } },
  };
  return {
    enabled: true,
    defaultResource: async () => resource,
    getResourceServerInfo: async (_ctx, resourceIndicator) => {
      if (resourceIndicator !== resource) throw new errors.InvalidTarget();
      return resourceServer;
    },
    useGrantedResource: async () => true,
  };
}

/**
 * Serves `provider` on 127.0.0.1:`port`, logs its server errors, prints `ready` as one JSON line
 * to stdout once listening, and on SIGTERM/SIGINT closes, awaits `beforeExit` and exits 0.
 */
export function serve(provider, port, ready, beforeExit) {
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));
  const server = http.createServer(provider.callback());
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      server.close();
      server.closeAllConnections();
      void Promise.resolve(beforeExit?.()).finally(() => process.exit(0));
    });
  }
}
