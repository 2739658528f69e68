// The OAuth side of the benchmarks that compare Gatehouse with oidc-provider (bench/token,
// bench/signin): discovery, client_secret_basic, ES256 JWKs, and the oidc-provider comparison
// server run as a child process.
import { spawn } from 'node:child_process';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { waitUntilReady } from './processes.mjs';

/** The issuer's OpenID Provider Metadata; it must name a token endpoint and a JWKS. */
export async function discover(issuer) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`discovery ${issuer}/.well-known/openid-configuration answered ${response.status}`);
  const metadata = await response.json();
  if (!metadata.token_endpoint || !metadata.jwks_uri) throw new Error(`discovery lacks token_endpoint/jwks_uri: ${JSON.stringify(metadata)}`);
  return metadata;
}

export const basicAuthorization = (clientId, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** The JWK of ES256 key `key` (public or private) with its thumbprint as kid, alg ES256 and use sig. */
export async function es256Jwk(key) {
  const jwk = await exportJWK(key);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'ES256';
  jwk.use = 'sig';
  return jwk;
}

const OIDC_PROVIDER_WARNINGS = [/^oidc-provider WARNING: Unsupported runtime/, /^oidc-provider WARNING: a quick start development-only in-memory adapter/];

/**
 * Starts `node <script>` (an oidc-provider server that prints one JSON line with its `issuer`
 * once listening) as a child registered by `track`, and discovers it. Resolves with `ready` (that
 * line), `metadata`, the child's `pid`, its `stderr()` without oidc-provider's start-up warnings
 * and `stop()`, which stops it and then runs `afterStop` (also when starting fails).
 */
export async function startOidcProviderChild(track, { script, cwd, env, port, afterStop }) {
  const proc = track(spawn(process.execPath, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const stop = async () => {
    await proc.stop();
    await afterStop?.();
  };
  try {
    const ready = await waitUntilReady(proc, `oidc-provider on :${port}`, async () => {
      const line = proc.stdout().split('\n').find((l) => l.startsWith('{'));
      return line ? JSON.parse(line) : null;
    });
    const metadata = await discover(ready.issuer);
    const stderr = () =>
      proc
        .stderr()
        .split('\n')
        .filter((l) => l.trim() && !OIDC_PROVIDER_WARNINGS.some((w) => w.test(l)))
        .join('\n');
    return { ready, metadata, pid: proc.child.pid, stderr, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
