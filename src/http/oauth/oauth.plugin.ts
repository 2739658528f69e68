import { BackChannelLogoutWorker } from './back-channel-logout.js';
import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AuditBatcher } from '../../audit/audit-batcher.js';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import type { Config } from '../../config.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import type { Database } from '../../db/database.js';
import { ensureSigningKeys } from '../../modules/signing-key/signing-key.service.js';
import { invalidateOnCommit } from './cache-invalidation.js';
import { OAuthCache } from './oauth-cache.js';
import { ReplayGuard } from './replay-guard.js';
import { registerOAuthRoutes } from './routes.js';
import { SecretUsage } from './secret-usage.js';
import type { OAuthDeps } from './context.js';
import type { Mailer } from '../../modules/email/mailer.js';
import { BrowserBinding } from '../pages/browser.js';
import { registerHostedPages } from '../pages/pages.plugin.js';
import { registerSamlRoutes } from '../saml/routes.js';
import { MetadataDocumentClients } from './metadata-documents.js';
import { guardedFetch } from '../outbound-fetch.js';
import { OidcRelyingParty } from '../../modules/connection/oidc/relying-party.js';

export interface OAuthPluginOptions {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  listen: Database['listen'];
  secretBox: SecretBox;
  /** Derives the hosted pages' CSRF key. */
  masterKey: Buffer;
  mailer: Mailer;
  /** Fetches client metadata documents; the outbound guard unless a test stands in for the outside world. */
  outboundFetch?: typeof fetch;
  requestMeta(request: FastifyRequest): RequestMeta;
}

/**
 * The OAuth 2.1 authorization servers, one per environment under `/e/<environment id>`, with
 * what they own: the in-memory cache of issuers and clients, the group-committing audit batcher
 * of the hot path, the assertion replay guard and the secret-usage stamps. Closing the app
 * closes them, after the routes stop taking requests.
 */
export async function oauthPlugin(app: FastifyInstance, options: OAuthPluginOptions): Promise<void> {
  const { config, orm, logger } = options;
  // Environments get their first key when they are created; ones created without the master key
  // at hand (an operator's bootstrap before the first start) get it here.
  const keyed = await ensureSigningKeys(orm, options.secretBox);
  if (keyed.length) logger.info({ environments: keyed.length }, 'created signing keys for environments without one');
  const cache = await OAuthCache.start({
    orm,
    box: options.secretBox,
    publicUrl: () => config.publicUrl,
    allowPrivateTargets: config.allowPrivateTargets,
    logger,
    listen: options.listen,
  });
  invalidateOnCommit(orm, (environmentId) => cache.invalidate(environmentId));
  const audit = new AuditBatcher(orm, { anonymousFailuresPerMinute: config.anonymousFailureAuditsPerMinute, logger });
  const replayGuard = new ReplayGuard(orm);
  const logouts = new BackChannelLogoutWorker({
    orm,
    cache,
    audit,
    listen: options.listen,
    logger,
    allowPrivateTargets: config.allowPrivateTargets,
    retrySchedule: config.backchannelLogoutRetrySchedule,
  });
  await logouts.start();
  app.addHook('onClose', async () => {
    await logouts.stop();
    await audit.close();
    await replayGuard.close();
    await cache.close();
  });
  const deps: OAuthDeps = {
    orm,
    config,
    box: options.secretBox,
    cache,
    audit,
    // Budgets of their own: failures at the token endpoint must not lock an address out of the
    // management API, or the reverse.
    ipFailures: new FailedAuthLimiter(config.authFailuresPerMinute),
    clientFailures: new FailedAuthLimiter(config.authFailuresPerMinute),
    registrations: new FailedAuthLimiter(config.authFailuresPerMinute),
    secretUsage: new SecretUsage(orm, logger),
    replayGuard,
    metadataDocuments: new MetadataDocumentClients({
      orm,
      cache,
      logger,
      fetch: options.outboundFetch ?? guardedFetch({ maxBytes: 5 * 1024, timeoutMs: 5_000, allowPrivate: config.allowPrivateTargets }),
    }),
    logger,
  };
  await registerOAuthRoutes(app, deps, options.requestMeta);
  await registerSamlRoutes(app, deps);
  // Providers' discovery documents and JWKS are a few kilobytes (Entra's and Okta's under 10):
  // 64 KiB bounds what each cached connection holds; 10 s per request.
  const oidc = new OidcRelyingParty({ fetch: options.outboundFetch ?? guardedFetch({ maxBytes: 64 * 1024, timeoutMs: 10_000, allowPrivate: config.allowPrivateTargets }) });
  await registerHostedPages(app, { ...deps, oidc, mailer: options.mailer, binding: new BrowserBinding(options.masterKey, () => config.publicUrl), requestMeta: options.requestMeta });
}
