import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin, type ApolloFastifyContextFunction } from '@as-integrations/fastify';
import proxyAddr from '@fastify/proxy-addr';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { AuditBus } from '../audit/audit-bus.js';
import type { RequestMeta } from '../audit/audit-recorder.js';
import { ChainTails } from '../audit/chain-tail.js';
import { scopeOfPrincipal, type Principal } from '../auth/principal.js';
import { RateBudget } from '../auth/rate-budget.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/at-rest.js';
import type { Database } from '../db/database.js';
import { ulid } from '../db/id.js';
import { scopedFork } from '../db/tenant-scope.js';
import { AppError } from '../errors/app-error.js';
import { API_KEY_REVOKED_CHANNEL } from '../modules/api-key/api-key.service.js';
import type { TxtResolver } from '../modules/organization/domain-verification.js';
import type { GraphQLContext } from './context.js';
import { executorGateway } from './executor.js';
import { createErrorFormatter } from './format-error.js';
import { TEST_EMAILS_PER_MINUTE } from '../modules/email/email.service.js';
import type { Mailer } from '../modules/email/mailer.js';
import { inputGuardPlugin } from './input-guard.js';
import { documentGuard, MAX_DOCUMENT_TOKENS, queryLimitsPlugin, type QueryLimits } from './limits.js';
import { createLoaders } from './loaders.js';
import { boundedStringify } from './response-size.js';
import { getSchema } from './schema.js';
import { attachGraphQLWebSocket } from './websocket.js';

export interface GraphQLPluginOptions {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  listen: Database['listen'];
  secretBox: SecretBox;
  resolveTxt: TxtResolver;
  /** Fetches on a tenant's behalf (IdP metadata URLs), through the outbound guard. */
  outboundFetch: typeof fetch;
  /** The server's mailer (app.ts owns and closes it). */
  mailer: Mailer;
  requestMeta(request: FastifyRequest): RequestMeta;
  /** Finds the caller of an API key (the same for HTTP, WebSocket and the audit export). */
  authenticate(authorization: string | undefined, meta: RequestMeta): Promise<Principal>;
}

export const GRAPHQL_PATH = '/graphql';

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
 * The management API: GraphQL at /graphql over HTTP (GET and POST) and graphql-ws over WebSocket
 * on the same path, with everything they own: the Apollo server, the live audit bus and chain
 * tails, the sockets and the revocation listener. Closing the app closes them.
 */
export async function graphqlPlugin(app: FastifyInstance, options: GraphQLPluginOptions): Promise<void> {
  const { config, orm, logger } = options;
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
    // Apollo parses, validates against `schema`, runs the plugins and formats errors as usual;
    // the gateway only executes: repeated queries compiled by graphql-jit (executor.ts).
    gateway: executorGateway(schema, { compile: config.graphqlJit }),
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

  const auditBus = await AuditBus.start(options.listen);
  app.addHook('onClose', () => auditBus.close());
  const auditTails = new ChainTails(orm, auditBus);
  const verification = { budget: new RateBudget(config.auditVerificationsPerMinute), maxEvents: config.auditVerifyMaxEvents };
  const webhooks = { box: options.secretBox, allowPrivateTargets: config.allowPrivateTargets };
  const email = { mailer: options.mailer, testBudget: new RateBudget(TEST_EMAILS_PER_MINUTE) };

  // Each request's EntityManager carries its caller's tenant scope (db/tenant-scope.ts).
  const newContext = (principal: Principal, meta: RequestMeta, connection?: GraphQLContext['connection']): GraphQLContext => {
    const em: EntityManager = scopedFork(orm, scopeOfPrincipal(principal));
    // Read per request: the benchmark and a test switch batching off on a running server.
    const loaderOptions = { batch: config.dataLoaderBatching, maxPageSize: config.maxPageSize };
    return {
      principal,
      meta,
      em,
      config,
      loaderOptions,
      loaders: createLoaders(em, loaderOptions),
      resolveTxt: options.resolveTxt,
      outboundFetch: options.outboundFetch,
      secretBox: options.secretBox,
      webhooks,
      email,
      auditBus,
      auditTails,
      verification,
      connection,
    };
  };

  // A failed authentication is an AppError; the error formatter, the one serialiser of GraphQL
  // errors, gives it its code and reason. Only the HTTP status and headers are said here.
  const context: ApolloFastifyContextFunction<GraphQLContext> = async (request) => {
    const meta = options.requestMeta(request);
    try {
      return newContext(await options.authenticate(request.headers.authorization, meta), meta);
    } catch (error) {
      if (error instanceof AppError && (error.kind === 'UNAUTHENTICATED' || error.kind === 'RATE_LIMITED')) {
        const headers =
          error.kind === 'UNAUTHENTICATED'
            ? new Map([['www-authenticate', 'Bearer realm="gatehouse"']])
            : new Map([['retry-after', String((error.detail as { retryAfter: number }).retryAfter)]]);
        throw new GraphQLError(error.message, { originalError: error, extensions: { requestId: meta.requestId, http: { status: error.status, headers } } });
      }
      throw error;
    }
  };

  const trustedProxy =
    config.trustProxy === false
      ? () => false
      : config.trustProxy === true
        ? () => true
        : proxyAddr.compile(config.trustProxy.split(',').map((entry) => entry.trim()));
  const sockets = attachGraphQLWebSocket(app, {
    schema,
    caps: {
      connectionsPerKey: config.wsConnectionsPerKey,
      connectionsPerAddress: config.wsConnectionsPerAddress,
      operationsPerConnection: config.wsOperationsPerConnection,
    },
    logger,
    revalidateMs: config.subscriptionRevalidateMs,
    path: GRAPHQL_PATH,
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
    authenticate: options.authenticate,
    context: newContext,
  });

  // A revoked key's sockets close at once, whichever process revoked it; when notices may have
  // been missed (LISTEN reconnected), every socket's key is checked again.
  const unlistenRevocations = await options.listen(API_KEY_REVOKED_CHANNEL, {
    onNotify: (apiKeyId) => sockets.closeKey(apiKeyId),
    onGap: () => sockets.recheckAll(),
  });
  app.addHook('onClose', () => unlistenRevocations());

  const guard = documentGuard(limits);
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.url === GRAPHQL_PATH) await guard(request, reply);
  });
  await app.register(fastifyApollo(apollo), { path: GRAPHQL_PATH, method: ['GET', 'POST', 'OPTIONS'], context });
}
