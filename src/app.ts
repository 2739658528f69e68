import type { MikroORM } from '@mikro-orm/core';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestMeta } from './audit/audit-recorder.js';
import { FailedAuthLimiter } from './auth/failed-auth-limiter.js';
import type { Config } from './config.js';
import { SecretBox } from './crypto/at-rest.js';
import { ping, type Database } from './db/database.js';
import { ulid } from './db/id.js';
import { systemFork } from './db/tenant-scope.js';
import { GRAPHQL_PATH, graphqlPlugin } from './graphql/graphql.plugin.js';
import { auditExportPlugin } from './http/audit-export.js';
import { oauthPlugin } from './http/oauth/oauth.plugin.js';
import { guardedFetch } from './http/outbound-fetch.js';
import { frameworkErrorHandler, requestErrorHandler } from './http/request-errors.js';
import { scimPlugin } from './http/scim/scim.plugin.js';
import { createLogger } from './logger.js';
import { Mailer } from './modules/email/mailer.js';
import { authenticate } from './modules/api-key/api-key.service.js';
import { systemTxtResolver, type TxtResolver } from './modules/organization/domain-verification.js';

export interface AppDeps {
  config: Config;
  orm: MikroORM;
  logger?: Logger;
  /** DNS TXT lookups for domain verification. @default the system resolver */
  resolveTxt?: TxtResolver;
  /** LISTEN on the database (Database.listen): wakes live audit streams. */
  listen: Database['listen'];
  /** Seals secrets at rest (see crypto/at-rest.ts). */
  masterKey: Buffer;
  /** Outbound fetch for client metadata documents. @default the guarded fetch (no private targets) */
  outboundFetch?: typeof fetch;
}

/** Paths that log and authenticate nothing: probes. */
const PROBES = new Set(['/healthz', '/readyz']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestMeta(request: FastifyRequest): RequestMeta {
  const userAgent = request.headers['user-agent'];
  return { requestId: request.id, ip: request.ip ?? null, userAgent: userAgent ? userAgent.slice(0, 512) : null };
}

/**
 * Builds the HTTP server: probes, and three plugins that each own and close their parts: the
 * management API (GraphQL over HTTP and WebSocket at /graphql), the OAuth authorization servers
 * (/e/<environment id>/…) and the audit export (/audit/export). No side effects beyond the
 * returned instance: the caller listens and closes.
 */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, orm } = deps;
  const logger = deps.logger ?? createLogger(config);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // Our own onResponse hook logs one line per request, without probes or headers.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    frameworkErrors: frameworkErrorHandler({ graphqlPath: GRAPHQL_PATH }),
    // A request id from a trusted proxy ties our log lines and audit events to its own; from
    // anyone else it could be forged to blur the audit trail, so we make our own.
    genReqId: (req) => {
      const incoming = config.trustProxy === false ? undefined : req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : `req_${ulid()}`;
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (PROBES.has(request.url)) return;
    request.log.info(
      { method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  // Errors raised before a handler runs (a body that is not JSON, too large, of another type)
  // get the error shape of the API they were sent to; the OAuth routes set their own handler.
  app.setErrorHandler(requestErrorHandler({ graphqlPath: GRAPHQL_PATH }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await ping(orm);
      return { status: 'ready' };
    } catch (error) {
      app.log.warn({ err: error }, 'database not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  const secretBox = new SecretBox(deps.masterKey);
  const failedAuthLimiter = new FailedAuthLimiter(config.authFailuresPerMinute);
  // An API key is found by its hash before anyone's tenant is known.
  const authenticateKey = (authorization: string | undefined, meta: RequestMeta) =>
    authenticate(systemFork(orm, 'authentication: finds the key before its tenant is known'), authorization, meta, failedAuthLimiter);
  const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom }, logger);
  app.addHook('onClose', () => mailer.close());
  const shared = { config, orm, logger, listen: deps.listen, secretBox, requestMeta, mailer };

  // IdP metadata documents: 512 KiB, 10 s, no private address unless allowed.
  const outboundFetch = deps.outboundFetch ?? guardedFetch({ maxBytes: 512 * 1024, timeoutMs: 10_000, allowPrivate: config.allowPrivateTargets });
  await app.register(graphqlPlugin, { ...shared, resolveTxt: deps.resolveTxt ?? systemTxtResolver, outboundFetch, authenticate: authenticateKey });
  await app.register(oauthPlugin, { ...shared, masterKey: deps.masterKey, outboundFetch: deps.outboundFetch });
  await app.register(auditExportPlugin, { orm, requestMeta, authenticate: authenticateKey });
  await app.register(scimPlugin, { config, orm, logger, failedAuth: failedAuthLimiter, requestMeta });
  return app;
}
