import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC_CODE } from '../errors/app-error.js';
import { SCIM_CONTENT_TYPE, scimErrorResponse } from './scim/scim.handler.js';

/**
 * Fixed messages for what Fastify refuses before a route runs. Never the parser's own message:
 * Node's JSON errors quote a slice of the body, which may hold a secret.
 */
const MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but its content type is JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported content type; send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The request body does not match its Content-Length',
};

/** A 4xx Fastify raised itself (parsing, size, media type): the client's mistake, told as such. */
export function clientError(error: FastifyError): { status: number; message: string } | null {
  const status = error.statusCode;
  if (!status || status < 400 || status >= 500) return null;
  if (error.code && MESSAGES[error.code]) return { status, message: MESSAGES[error.code] };
  // Body parsers report bad syntax as a SyntaxError with status 400.
  if (error instanceof SyntaxError) return { status, message: MESSAGES.FST_ERR_CTP_INVALID_JSON_BODY };
  return { status, message: error.message };
}

/**
 * The error handler of routes that have none of their own: requests Fastify refused before the
 * route ran (a body that is not JSON, too large, of another type) and unexpected failures. On
 * the GraphQL path the answer is a GraphQL response (`errors[].extensions.code`, BAD_REQUEST as
 * Apollo uses for malformed HTTP requests); elsewhere it is the REST shape of the audit export.
 * Unexpected failures answer a generic 500 with the request id; the error goes to the log only.
 */
export function requestErrorHandler(options: { graphqlPath: string }) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const refused = clientError(error);
    if (!refused) request.log.error({ err: error }, 'request failed');
    const status = refused?.status ?? 500;
    const code = refused ? 'BAD_REQUEST' : PUBLIC_CODE.INTERNAL;
    const message = refused?.message ?? 'Internal server error';
    const requestId = request.id;
    if (request.url.split('?')[0] === options.graphqlPath) {
      return reply.code(status).send({ errors: [{ message, extensions: { code, requestId } }] });
    }
    return reply.code(status).send({ error: { code, message, requestId } });
  };
}

/**
 * What Fastify refuses before routing (a URL that is not valid percent-encoding), answered in the
 * shape of the API the URL belongs to: a SCIM error under /scim/, a GraphQL response on the
 * GraphQL path, the REST error elsewhere; never Fastify's own body.
 */
export function frameworkErrorHandler(options: { graphqlPath: string }) {
  const handler = requestErrorHandler(options);
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (request.url.startsWith('/scim/')) {
      const refused = clientError(error);
      const response = scimErrorResponse(refused?.status ?? 500, refused ? 'The URL is not valid' : 'Internal server error', refused?.status === 400 ? 'invalidSyntax' : null);
      return reply.code(response.status).header('content-type', `${SCIM_CONTENT_TYPE}; charset=utf-8`).send(JSON.stringify(response.body));
    }
    return handler(error, request, reply);
  };
}
