import { RevokedTokenRepository } from '../../modules/token-state/token-state.repository.js';
import { environmentEm, type OAuthDeps } from './context.js';
import type { ClientState, EnvironmentState } from './oauth-cache.js';
import { EXCHANGE_CHAIN_CLAIM, MAX_EXCHANGE_CHAIN, verifyOwnToken, type AccessTokenClaims, type ExchangeLink } from './tokens.js';

const TOKEN_ID = /^at_[0-9A-Za-z]{1,64}$/;
const CLIENT_ID = /^(sva|app)_[0-9a-z]{26}$/;

/** A token of this environment that is still good, with the clients that answer for it. */
export interface LiveToken {
  claims: AccessTokenClaims;
  /** The client it was issued to (`client_id`). */
  owner: ClientState;
  /** The tokens it was exchanged from, oldest first; empty for a token of a grant of its own. */
  chain: ExchangeLink[];
  /**
   * The client whose grant bounds it: the client of the first token of its chain (for a chain
   * that began at a trusted issuer, the first client that exchanged into this environment), or
   * its owner when it was not exchanged.
   */
  root: ClientState;
  /** An exchanged token issued before chains were recorded: its root cannot be known. */
  legacyExchange: boolean;
}

/** The chain claim as this server writes it, or null when it is malformed (then the token is not trusted). */
function chainOf(claims: AccessTokenClaims): ExchangeLink[] | null {
  const value: unknown = claims[EXCHANGE_CHAIN_CLAIM];
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_EXCHANGE_CHAIN) return null;
  const links = value.filter(
    (link): link is ExchangeLink =>
      !!link && typeof link === 'object' && typeof link.jti === 'string' && TOKEN_ID.test(link.jti) && typeof link.client_id === 'string' && CLIENT_ID.test(link.client_id),
  );
  return links.length === value.length ? links : null;
}

/**
 * Verifies a token of this environment (signature by a published key, issuer, type, expiry) and
 * checks that it is still live: neither it nor any token it was exchanged from is revoked, and
 * its client and every client up its exchange chain still exist and are enabled. RFC 8693 §2.1
 * leaves it to the server whether an exchanged token outlives its subject token; here it does
 * not, so that revoking a token (RFC 7009) or disabling a client stops everything derived from
 * it, at introspection and at the next exchange alike. Null for anything else.
 */
export async function liveToken(deps: OAuthDeps, env: EnvironmentState, token: string): Promise<LiveToken | null> {
  const claims = await verifyOwnToken(env, token);
  if (!claims) return null;
  const chain = chainOf(claims);
  if (!chain) return null;
  const clientIds = [...new Set([...chain.map((link) => link.client_id), claims.client_id])];
  const clients = await Promise.all(clientIds.map((id) => deps.cache.client(env, id)));
  if (clients.some((client) => !client?.enabled)) return null;
  if (await new RevokedTokenRepository(environmentEm(deps.orm, env)).anyRevoked([...chain.map((link) => link.jti), claims.jti!])) return null;
  // Keyed as the claims name them (an id, or a metadata document's URL).
  const byId = new Map(clientIds.map((id, index) => [id, clients[index]!]));
  const owner = byId.get(claims.client_id)!;
  return {
    claims,
    owner,
    chain,
    root: chain.length ? byId.get(chain[0].client_id)! : owner,
    // Machine grants issue tokens with sub = client_id, people's grants with a user's id; only an
    // exchange issued before chains were recorded has another subject and no chain.
    legacyExchange: claims[EXCHANGE_CHAIN_CLAIM] === undefined && claims.sub !== claims.client_id && !claims.sub?.startsWith('usr_'),
  };
}
