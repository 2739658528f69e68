// The comparison server of bench/token: oidc-provider (panva/node-oidc-provider, a devDependency)
// issuing client_credentials access tokens as ES256-signed JWTs for one resource server, run as
// a child process of bench/token/run.mjs so that it has an event loop of its own (as Gatehouse
// does). State lives in oidc-provider's default in-memory adapter (an LRU of 1000 entries, which
// is also what holds the client-assertion jti replay cache).
//
// Configured by environment (set by run.mjs):
//   BENCH_OP_PORT           port to listen on (127.0.0.1); the issuer is http://127.0.0.1:<port>
//   BENCH_OP_CLIENT_SECRET  secret of client "bench-basic" (client_secret_basic)
//   BENCH_OP_CLIENT_JWK     public ES256 JWK (with kid) of client "bench-jwt" (private_key_jwt)
// Prints one JSON line to stdout once listening: { ready, issuer, basicClientId, jwtClientId }.
import Provider from 'oidc-provider';
import { resourceIndicators, serve, signingJwk } from '../lib/oidc-provider.mjs';

const RESOURCE = 'https://api.bench.example';
const port = Number(process.env.BENCH_OP_PORT);
const clientSecret = process.env.BENCH_OP_CLIENT_SECRET;
const clientJwk = JSON.parse(process.env.BENCH_OP_CLIENT_JWK || 'null');
if (!port || !clientSecret || !clientJwk) {
  console.error('oidc-provider-server: BENCH_OP_PORT, BENCH_OP_CLIENT_SECRET and BENCH_OP_CLIENT_JWK are required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// The provider's own token signing key.
const signingKey = await signingJwk();

// id_token_signed_response_alg: no ID token is ever issued here, but oidc-provider validates
// client metadata against the provider keystore and defaults it to RS256: with only an ES256
// key every token request would fail with invalid_client_metadata.
const clientDefaults = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  id_token_signed_response_alg: 'ES256',
};

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    { ...clientDefaults, client_id: 'bench-basic', client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
    {
      ...clientDefaults,
      client_id: 'bench-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [clientJwk] },
    },
  ],
  // Only to silence the "default cookie keys" warning: no cookie is ever set by this grant.
  cookies: { keys: ['gatehouse-bench-only-not-a-secret'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: resourceIndicators(RESOURCE),
  },
});

serve(provider, port, { ready: true, issuer, basicClientId: 'bench-basic', jwtClientId: 'bench-jwt' });
