import { warnExpiringCertificates } from '../../modules/connection/certificate-expiry.js';
import { refreshIdpMetadata } from '../../modules/connection/idp-metadata-refresh.js';
import { OidcRequestRepository, SamlRequestRepository, SsoTraceRepository } from '../../modules/connection/connection.repository.js';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { systemFork } from '../../db/tenant-scope.js';
import { SignInChallengeRepository } from '../../modules/sign-in/challenge.repository.js';
import { pruneExpiredTokenState } from '../../modules/token-state/token-state.repository.js';
import { PushedRequestRepository, SignInFlowRepository } from '../../modules/sign-in/flow.repository.js';
import { UserSessionRepository } from '../../modules/session/session.repository.js';
import { AuthorizationCodeRepository, RefreshTokenRepository } from '../../modules/user-token/user-token.repository.js';

/**
 * Forgets revoked token ids and used assertion ids of every environment once what they guard
 * has expired (see pruneExpiredTokenState). A system job: it runs on a systemFork of its own.
 * Returns how many rows went.
 */
export function pruneTokenState(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  return pruneExpiredTokenState(systemFork(source, 'housekeeping: expired token state of every environment'), now);
}

/** How long an expired sign-in challenge is kept (its rows still count towards the per-address limits until then). */
export const EXPIRED_CHALLENGE_KEEP_MS = 24 * 60 * 60 * 1000;

/** Forgets sign-in challenges of every environment that expired over a day ago: they can only be refused. */
export function pruneSignInChallenges(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  const em = systemFork(source, 'housekeeping: expired sign-in challenges of every environment');
  return new SignInChallengeRepository(em).deleteExpired(new Date(now.getTime() - EXPIRED_CHALLENGE_KEEP_MS));
}

/** Ended or expired sessions stay listable (GraphQL `sessions` with `activeOnly: false`) this long. */
export const ENDED_SESSION_KEEP_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Forgets the sign-in state of every environment that can only be refused: challenges (after a
 * day), flows and pushed requests past their expiry, codes whose access token has expired too
 * (a replayed code revokes it until then), refresh token families past their absolute expiry,
 * and sessions a month after they ended or expired. Returns how many rows went.
 */
export async function pruneSignInState(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  const em = systemFork(source, 'housekeeping: expired sign-in state of every environment');
  const counts = [
    await pruneSignInChallenges(source, now),
    await new SignInFlowRepository(em).deleteExpired(now),
    await new PushedRequestRepository(em).deleteExpired(now),
    await new AuthorizationCodeRepository(em).deleteExpired(now),
    await new RefreshTokenRepository(em).deleteExpired(now),
    await new UserSessionRepository(em).deleteEndedBefore(new Date(now.getTime() - ENDED_SESSION_KEEP_MS)),
    // Answered or not, an expired SAML request can only be refused.
    await new SamlRequestRepository(em).deleteExpired(now),
    await new OidcRequestRepository(em).deleteExpired(now),
    await new SsoTraceRepository(em).deleteExpired(now),
  ];
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Runs `pruneTokenState` and `pruneSignInState` every `intervalMs` (any process may; deletes are
 * idempotent), announces IdP certificates nearing expiry (once per threshold, whichever
 * process gets there first), and reads IdP metadata URLs due again (under each connection's lock).
 */
export function startTokenStateJob(em: EntityManager, intervalMs: number, logger: Logger, outboundFetch: typeof fetch): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = Promise.all([pruneTokenState(em), pruneSignInState(em), warnExpiringCertificates(em), refreshIdpMetadata(em, outboundFetch)])
      .then(
        ([pruned, signIn, certificates, metadata]) =>
          (pruned || signIn || certificates || metadata) &&
          logger.info({ pruned, signIn, certificates, metadata }, 'pruned expired token state and sign-in state; announced expiring certificates; refreshed IdP metadata'),
      )
      .catch((error: unknown) => logger.error({ err: error }, 'token state pruning failed'))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
