import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { getOperationAST, GraphQLError, parse, validate, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { RequestMeta } from '../audit/audit-recorder.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors/app-error.js';
import type { GraphQLContext } from './context.js';
import { checkInput } from './input-guard.js';
import { checkQueryLimits, type QueryLimits } from './limits.js';

interface ConnectionState extends Record<PropertyKey, unknown> {
  principal: Principal;
  meta: RequestMeta;
}

export interface WebSocketOptions {
  schema: GraphQLSchema;
  path: string;
  limits: QueryLimits;
  requestMeta(request: IncomingMessage): RequestMeta;
  authenticate(authorization: string | undefined, meta: RequestMeta): Promise<Principal>;
  context(principal: Principal, meta: RequestMeta, connection: GraphQLContext['connection']): GraphQLContext;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
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
          ctx.extra.principal = await options.authenticate(authorization, meta);
          ctx.extra.meta = meta;
          return true;
        } catch (error) {
          if (error instanceof AppError && error.expose) {
            ctx.extra.socket.close(CloseCode.Forbidden, `Forbidden: ${error.message} (${error.code})`);
            return false;
          }
          throw error;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const { principal, meta } = ctx.extra;
        if (!principal || !meta) return [new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
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
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: options.context(principal, meta, {
            close: (code, reason) => ctx.extra.socket.close(code, reason),
          }),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) as unknown as GraphQLError[] } : result,
      onError: (_ctx, _id, _payload, errors) => format(errors) as unknown as GraphQLError[],
      // Our formatter already hides what must not leave the server; graphql-ws's production
      // mode would also blank the messages of ordinary domain errors.
      isProd: false,
    },
    wss,
  );

  app.addHook('preClose', async () => {
    // Close every subscription (1001 Going Away) so draining HTTP is not held up by them.
    await server.dispose();
  });
  app.addHook('onClose', async () => {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}
