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
import { checkQueryLimits, type QueryLimits } from './limits.js';

interface ConnectionState extends Record<PropertyKey, unknown> {
  principal: Principal;
  meta: RequestMeta;
  /** One abort per operation, fired by `complete` or by the socket closing. */
  operations: Map<string, AbortController>;
}



export interface WebSocketOptions {
  schema: GraphQLSchema;
  path: string;
  limits: QueryLimits;
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
function watchCredentials(socket: WebSocket, principal: Principal, everyMs: number, check: () => Promise<Principal>): void {
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
}

/** Open operations one connection may hold; each subscription holds a stream and a database read. */
const MAX_OPERATIONS_PER_CONNECTION = 100;

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
export function attachGraphQLWebSocket(app: FastifyInstance, options: WebSocketOptions): void {
  const wss = new WebSocketServer({ server: app.server, path: options.path, maxPayload: 1024 * 1024 });
  const format = (errors: readonly GraphQLError[]) => errors.map((error) => options.formatError(error.toJSON(), error));

  const server = useServer<Record<string, unknown>, ConnectionState>(
    {
      onConnect: async (ctx) => {
        const meta = options.requestMeta(ctx.extra.request);
        const authorization = credentialsOf(ctx.connectionParams, ctx.extra.request);
        if (!authorization) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: send { authorization: "Bearer <API key>" } in connection_init');
          return false;
        }
        try {
          const principal = await options.authenticate(authorization, meta);
          ctx.extra.principal = principal;
          ctx.extra.meta = meta;
          ctx.extra.operations = new Map();
          watchCredentials(ctx.extra.socket, principal, options.revalidateMs, () => options.authenticate(authorization, meta));
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
      onSubscribe: (ctx, id, payload) => {
        const { principal, meta, operations } = ctx.extra;
        if (!principal || !meta || !operations) return [new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(options.schema, document);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        try {
          checkInput(document, payload.variables);
          checkQueryLimits(options.limits, {
            schema: options.schema,
            document,
            operation,
            operationName: payload.operationName,
            variables: payload.variables,
          });
        } catch (error) {
          return [error as GraphQLError];
        }
        if (operations.size >= MAX_OPERATIONS_PER_CONNECTION) {
          return [
            new GraphQLError(`At most ${MAX_OPERATIONS_PER_CONNECTION} operations at once per connection`, {
              extensions: { code: 'BAD_USER_INPUT', reason: 'websocket.too_many_operations' },
            }),
          ];
        }
        const abort = new AbortController();
        operations.set(id, abort);
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: options.context(principal, meta, {
            close: (code, reason) => ctx.extra.socket.close(code, reason),
            signal: abort.signal,
          }),
        };
      },
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
}
