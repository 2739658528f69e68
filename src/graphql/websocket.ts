import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { getOperationAST, GraphQLError, parse, validate, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestMeta } from '../audit/audit-recorder.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors/app-error.js';
import type { GraphQLContext } from './context.js';
import { checkInput } from './input-guard.js';
import { checkDocumentLimits, checkQueryLimits, MAX_DOCUMENT_TOKENS, type QueryLimits } from './limits.js';
import { SocketRegistry } from './socket-registry.js';
import { SubscriptionFanout } from './subscription-fanout.js';

interface ConnectionState extends Record<PropertyKey, unknown> {
  principal: Principal;
  meta: RequestMeta;
  /** The connection's credentials, checked again for every operation. */
  authorization: string;
  /** One abort per operation, fired by `complete` or by the socket closing. */
  operations: Map<string, AbortController>;
}

/** Close code for a peer over its connection cap (graphql-ws clients treat it as final, not retried). */
const TOO_MANY_CONNECTIONS = CloseCode.TooManyInitialisationRequests;

export interface WebSocketCaps {
  connectionsPerKey: number;
  connectionsPerAddress: number;
  operationsPerConnection: number;
}

export interface WebSocketOptions {
  schema: GraphQLSchema;
  path: string;
  limits: QueryLimits;
  caps: WebSocketCaps;
  requestMeta(request: IncomingMessage): RequestMeta;
  authenticate(authorization: string | undefined, meta: RequestMeta): Promise<Principal>;
  logger: { error(object: object, message: string): void };
  /** How often an open connection's key is checked again. */
  revalidateMs: number;
  context(principal: Principal, meta: RequestMeta, connection: GraphQLContext['connection']): GraphQLContext;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

/**
 * Checks the connection's key again every `everyMs` and at its expiry: a revoked or expired
 * key must not keep a stream open. Closes with 4403 when the key no longer works.
 */
function watchCredentials(socket: WebSocket, principal: Principal, everyMs: number, check: () => Promise<Principal>): () => void {
  const revalidate = () => {
    check().catch(() => socket.close(CloseCode.Forbidden, 'Forbidden: the API key is no longer valid'));
  };
  const timers: NodeJS.Timeout[] = [setInterval(revalidate, everyMs)];
  if (principal.expiresAt) {
    // setTimeout takes at most ~24.8 days; longer expiries are caught by the interval.
    const delay = principal.expiresAt.getTime() - Date.now();
    if (delay < 2 ** 31 - 1) timers.push(setTimeout(revalidate, Math.max(delay, 0) + 10));
  }
  for (const timer of timers) timer.unref();
  socket.once('close', () => timers.forEach((timer) => clearTimeout(timer)));
  return revalidate;
}

/** The API key of a connection: `connection_init` payload `{ authorization: "Bearer …" }`, else the upgrade request's header. */
function credentialsOf(params: Readonly<Record<string, unknown>> | undefined, request: IncomingMessage): string | undefined {
  const fromParams = params?.authorization ?? params?.Authorization;
  if (typeof fromParams === 'string') return fromParams;
  return request.headers.authorization;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the HTTP server's port. Connections
 * authenticate once, in `connection_init`, with the same API keys as HTTP: no credentials
 * close with 4401, a bad key with 4403; never an error inside a stream. Every operation goes
 * through the same input guard, limits and error formatting as over HTTP.
 */
export function attachGraphQLWebSocket(app: FastifyInstance, options: WebSocketOptions): SocketRegistry {
  const wss = new WebSocketServer({ server: app.server, path: options.path, maxPayload: 1024 * 1024 });
  const sockets = new SocketRegistry();
  const { caps } = options;
  const format = (errors: readonly GraphQLError[]) => errors.map((error) => options.formatError(error.toJSON(), error));
  // Live audit subscriptions: one execution and serialisation per event for every group of
  // subscribers with the same document, variables and authorization (subscription-fanout.ts).
  const fanout = new SubscriptionFanout(format, app.server);

  const server = useServer<Record<string, unknown>, ConnectionState>(
    {
      onConnect: async (ctx) => {
        const meta = options.requestMeta(ctx.extra.request);
        const authorization = credentialsOf(ctx.connectionParams, ctx.extra.request);
        if (!authorization) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: send { authorization: "Bearer <API key>" } in connection_init');
          return false;
        }
        if (meta.ip && sockets.countOfAddress(meta.ip) >= caps.connectionsPerAddress) {
          ctx.extra.socket.close(TOO_MANY_CONNECTIONS, `Too many connections: at most ${caps.connectionsPerAddress} per address`);
          return false;
        }
        try {
          const principal = await options.authenticate(authorization, meta);
          if (sockets.countOfKey(principal.apiKeyId) >= caps.connectionsPerKey) {
            ctx.extra.socket.close(TOO_MANY_CONNECTIONS, `Too many connections: at most ${caps.connectionsPerKey} per API key`);
            return false;
          }
          ctx.extra.principal = principal;
          ctx.extra.meta = meta;
          ctx.extra.authorization = authorization;
          ctx.extra.operations = new Map();
          const recheck = watchCredentials(ctx.extra.socket, principal, options.revalidateMs, () => options.authenticate(authorization, meta));
          sockets.add(ctx.extra.socket, principal.apiKeyId, meta.ip, recheck);
          ctx.extra.socket.once('close', () => {
            for (const operation of ctx.extra.operations?.values() ?? []) operation.abort();
          });
          return true;
        } catch (error) {
          if (error instanceof AppError && error.expose) {
            ctx.extra.socket.close(CloseCode.Forbidden, `Forbidden: ${error.message} (${error.code})`);
            return false;
          }
          // Details go to our log only; the client learns nothing about the failure.
          options.logger.error({ err: error }, 'websocket authentication failed');
          ctx.extra.socket.close(CloseCode.InternalServerError, 'Internal server error');
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const { meta, operations, authorization } = ctx.extra;
        if (!meta || !operations || !authorization) return [new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
        let document;
        try {
          document = parse(payload.query, { maxTokens: MAX_DOCUMENT_TOKENS });
          // Before validation, as over HTTP: a document built to make validation slow is refused first.
          checkDocumentLimits(options.limits, document);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(options.schema, document);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        try {
          checkInput(document, payload.variables);
          checkQueryLimits(options.limits, { schema: options.schema, document, operation, variables: payload.variables });
        } catch (error) {
          return [error as GraphQLError];
        }
        // The key is checked for every operation, not only at connection_init: a key revoked or
        // narrowed since then must not run anything more, and the operation runs with its current scopes.
        let principal: Principal;
        try {
          principal = await options.authenticate(authorization, meta);
        } catch {
          ctx.extra.socket.close(CloseCode.Forbidden, 'Forbidden: the API key is no longer valid');
          return [new GraphQLError('The API key is no longer valid', { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return [];
        // Counted after the await, so operations sent together cannot all pass one stale count.
        if (operations.size >= caps.operationsPerConnection) {
          return [
            new GraphQLError(`At most ${caps.operationsPerConnection} operations at once per connection`, {
              extensions: { code: 'BAD_USER_INPUT', reason: 'websocket.too_many_operations' },
            }),
          ];
        }
        ctx.extra.principal = principal;
        const abort = new AbortController();
        operations.set(id, abort);
        const contextValue = options.context(principal, meta, {
          close: (code, reason) => ctx.extra.socket.close(code, reason),
          signal: abort.signal,
        });
        fanout.register(contextValue, { socket: ctx.extra.socket, id, query: payload.query, signal: abort.signal });
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      subscribe: (args) => fanout.subscribe(args),
      onComplete: (ctx, id) => {
        ctx.extra.operations?.get(id)?.abort();
        ctx.extra.operations?.delete(id);
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) as unknown as GraphQLError[] } : result,
      onError: (_ctx, _id, _payload, errors) => format(errors) as unknown as GraphQLError[],
      // Close reasons of unexpected errors say nothing; our formatter decides what errors show.
      isProd: true,
    },
    wss,
  );

  app.addHook('preClose', async () => {
    // Close every subscription (1001 Going Away) so draining HTTP is not held up by them; a
    // peer that does not answer the close within a second is cut off.
    const cutOff = setTimeout(() => wss.clients.forEach((client) => client.terminate()), 1000);
    try {
      await server.dispose();
    } finally {
      clearTimeout(cutOff);
    }
  });
  app.addHook('onClose', async () => {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return sockets;
}
