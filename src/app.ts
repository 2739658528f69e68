import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin, type ApolloFastifyContextFunction } from '@as-integrations/fastify';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import proxyAddr from '@fastify/proxy-addr';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { AuditBus } from './audit/audit-bus.js';
import { ChainTails } from './audit/chain-tail.js';
import type { RequestMeta } from './audit/audit-recorder.js';
import type { Principal } from './auth/principal.js';
import type { Database } from './db/database.js';
import type { Config } from './config.js';
import { FailedAuthLimiter } from './auth/failed-auth-limiter.js';
import { RateBudget } from './auth/rate-budget.js';
import { SecretBox } from './crypto/at-rest.js';
import { ulid } from './db/id.js';
import { AppError } from './errors/app-error.js';
import type { GraphQLContext } from './graphql/context.js';
import { createErrorFormatter } from './graphql/format-error.js';
import { inputGuardPlugin } from './graphql/input-guard.js';
import { boundedStringify } from './graphql/response-size.js';
import { documentGuard, MAX_DOCUMENT_TOKENS, queryLimitsPlugin, type QueryLimits } from './graphql/limits.js';
import { createLoaders } from './graphql/loaders.js';
import { getSchema } from './graphql/schema.js';
import { attachGraphQLWebSocket } from './graphql/websocket.js';
import { registerAuditExport } from './http/audit-export.js';
import { requestErrorHandler } from './http/request-errors.js';
import { OAuthCache } from './http/oauth/oauth-cache.js';
import { registerOAuthRoutes } from './http/oauth/routes.js';
import { ReplayGuard } from './http/oauth/replay-guard.js';
import { SecretUsage } from './http/oauth/secret-usage.js';
import { AuditBatcher } from './audit/audit-batcher.js';
import { createLogger } from './logger.js';
import { API_KEY_REVOKED_CHANNEL, authenticate } from './modules/api-key/api-key.service.js';
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
}

/** Paths that log and authenticate nothing: probes. */
const PROBES = new Set(['/healthz', '/readyz']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestMeta(request: FastifyRequest): RequestMeta {
  const userAgent = request.headers['user-agent'];
  return { requestId: request.id, ip: request.ip ?? null, userAgent: userAgent ? userAgent.slice(0, 512) : null };
}

/** Adds the request id to every error so a client report can be matched to the log. */
function requestIdPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const requestId = contextValue?.meta?.requestId;
          if (response.body.kind === 'single' && response.body.singleResult.errors && requestId) {
            for (const error of response.body.singleResult.errors) {
              (error as { extensions: Record<string, unknown> }).extensions = { ...error.extensions, requestId };
            }
          }
        },
      };
    },
  };
}

/**
 * Builds the HTTP server: GraphQL at /graphql (GET and POST, and graphql-ws over WebSocket on
 * the same path), probes. No side effects beyond
 * the returned instance: the caller listens and closes.
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
  app.setErrorHandler(requestErrorHandler({ graphqlPath: '/graphql' }));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await orm.em.getConnection().execute('select 1');
      return { status: 'ready' };
    } catch (error) {
      app.log.warn({ err: error }, 'database not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  const schema = await getSchema();
  const limits: QueryLimits = {
    maxDepth: config.maxQueryDepth,
    maxComplexity: config.maxQueryComplexity,
    maxPageSize: config.maxPageSize,
    maxSelections: config.maxQuerySelections,
    maxAliases: config.maxQueryAliases,
  };
  const formatError = createErrorFormatter(logger);
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.introspection,
    // Every request needs an `Authorization` header, which browsers never attach cross-site on
    // their own, so the CSRF preflight rule adds nothing and would break GET clients.
    csrfPrevention: false,
    // main.ts owns SIGTERM/SIGINT and closes everything in order. Apollo's own handlers (on
    // whenever NODE_ENV is not `test`) would stop it and then re-raise the signal, killing the
    // process (exit 143/130) before the drain, the database close and the lock release.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    // The parser stops at this many tokens, before it builds a tree of an oversized document.
    parseOptions: { maxTokens: MAX_DOCUMENT_TOKENS },
    stringifyResult: boundedStringify(config.maxResponseBytes),
    // HTTP cache hints are not used (every response is per-key); without this plugin Apollo
    // would run a cache-control hook on every resolved field.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      // Apollo's landing page (served whenever NODE_ENV is not `production`) loads Apollo's
      // sandbox from Apollo's CDN into our origin: third-party script beside the API keys people
      // paste into it. Use any GraphQL client against the endpoint instead.
      ApolloServerPluginLandingPageDisabled(),
      fastifyApolloDrainPlugin(app),
      requestIdPlugin(),
      inputGuardPlugin(),
      queryLimitsPlugin(limits),
    ],
  });
  await apollo.start();

  const auditBus = await AuditBus.start(deps.listen);
  app.addHook('onClose', () => auditBus.close());
  const auditTails = new ChainTails(orm, auditBus);
  const failedAuthLimiter = new FailedAuthLimiter(config.authFailuresPerMinute);
  const verification = { budget: new RateBudget(config.auditVerificationsPerMinute), maxEvents: config.auditVerifyMaxEvents };
  const trustedProxy =
    config.trustProxy === false
      ? () => false
      : config.trustProxy === true
        ? () => true
        : proxyAddr.compile(config.trustProxy.split(',').map((entry) => entry.trim()));
  const resolveTxt = deps.resolveTxt ?? systemTxtResolver;
  const secretBox = new SecretBox(deps.masterKey);
  const webhooks = { box: secretBox, allowPrivateTargets: config.allowPrivateTargets };
  const oauthCache = await OAuthCache.start({
    orm,
    box: secretBox,
    publicUrl: () => config.publicUrl,
    allowPrivateTargets: config.allowPrivateTargets,
    logger,
    listen: deps.listen,
  });
  const newContext = (em: EntityManager, principal: Principal, meta: RequestMeta, connection?: GraphQLContext['connection']): GraphQLContext => {
    const loaderOptions = { batch: config.dataLoaderBatching, maxPageSize: config.maxPageSize };
    const afterMutation = () => principal.environmentIds.forEach((environmentId) => oauthCache.invalidate(environmentId));
    return { principal, meta, em, config, loaderOptions, loaders: createLoaders(em, loaderOptions), resolveTxt, secretBox, webhooks, auditBus, auditTails, verification, connection, afterMutation };
  };

  const context: ApolloFastifyContextFunction<GraphQLContext> = async (request) => {
    const meta = requestMeta(request);
    const em = orm.em.fork();
    try {
      return newContext(em, await authenticate(em, request.headers.authorization, meta, failedAuthLimiter), meta);
    } catch (error) {
      if (error instanceof AppError && error.kind === 'UNAUTHENTICATED') {
        throw new GraphQLError(error.message, {
          extensions: {
            code: 'UNAUTHENTICATED',
            reason: error.code,
            requestId: meta.requestId,
            http: { status: 401, headers: new Map([['www-authenticate', 'Bearer realm="gatehouse"']]) },
          },
        });
      }
      if (error instanceof AppError && error.kind === 'RATE_LIMITED') {
        const retryAfter = String((error.detail as { retryAfter: number }).retryAfter);
        throw new GraphQLError(error.message, {
          extensions: {
            code: 'RATE_LIMITED',
            reason: error.code,
            requestId: meta.requestId,
            http: { status: 429, headers: new Map([['retry-after', retryAfter]]) },
          },
        });
      }
      throw error;
    }
  };

  const hotPathAudit = new AuditBatcher(orm, { anonymousFailuresPerMinute: config.anonymousFailureAuditsPerMinute, logger });
  const replayGuard = new ReplayGuard(orm);
  app.addHook('onClose', async () => {
    await hotPathAudit.close();
    await replayGuard.close();
    await oauthCache.close();
  });
  await registerOAuthRoutes(
    app,
    {
      orm,
      config,
      box: secretBox,
      cache: oauthCache,
      audit: hotPathAudit,
      // Budgets of their own: failures at the token endpoint must not lock an address out of the
      // management API, or the reverse.
      ipFailures: new FailedAuthLimiter(config.authFailuresPerMinute),
      clientFailures: new FailedAuthLimiter(config.authFailuresPerMinute),
      registrations: new FailedAuthLimiter(config.authFailuresPerMinute),
      secretUsage: new SecretUsage(orm, logger),
      replayGuard,
      logger,
    },
    requestMeta,
  );

  registerAuditExport(app, {
    orm,
    requestMeta,
    authenticate: (em, authorization, meta) => authenticate(em, authorization, meta, failedAuthLimiter),
  });

  const sockets = attachGraphQLWebSocket(app, {
    schema,
    caps: {
      connectionsPerKey: config.wsConnectionsPerKey,
      connectionsPerAddress: config.wsConnectionsPerAddress,
      operationsPerConnection: config.wsOperationsPerConnection,
    },
    logger,
    revalidateMs: config.subscriptionRevalidateMs,
    path: '/graphql',
    limits,
    formatError,
    requestMeta: (request) => {
      const userAgent = request.headers['user-agent'];
      return {
        requestId: `req_${ulid()}`,
        // The same client address Fastify derives for HTTP requests.
        ip: proxyAddr(request, trustedProxy) ?? null,
        userAgent: userAgent ? userAgent.slice(0, 512) : null,
      };
    },
    authenticate: (authorization, meta) => authenticate(orm.em.fork(), authorization, meta, failedAuthLimiter),
    context: (principal, meta, connection) => newContext(orm.em.fork(), principal, meta, connection),
  });

  // A revoked key's sockets close at once, whichever process revoked it; when notices may have
  // been missed (LISTEN reconnected), every socket's key is checked again.
  const unlistenRevocations = await deps.listen(API_KEY_REVOKED_CHANNEL, {
    onNotify: (apiKeyId) => sockets.closeKey(apiKeyId),
    onGap: () => sockets.recheckAll(),
  });
  app.addHook('onClose', () => unlistenRevocations());

  const guard = documentGuard(limits);
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.url === '/graphql') await guard(request, reply);
  });
  await app.register(fastifyApollo(apollo), { path: '/graphql', method: ['GET', 'POST', 'OPTIONS'], context });
  return app;
}
