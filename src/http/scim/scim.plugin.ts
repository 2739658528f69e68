import type { MikroORM } from '@mikro-orm/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AuditBatcher } from '../../audit/audit-batcher.js';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import type { FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import type { Config } from '../../config.js';
import { MAX_BULK_PAYLOAD_BYTES } from '../../modules/directory/scim/scim-discovery.js';
import { clientError } from '../request-errors.js';
import { SCIM_CONTENT_TYPE, scimErrorResponse, scimHandler, type ScimResponse } from './scim.handler.js';

/** A SCIM request body, at most: the Bulk request's limit advertised in ServiceProviderConfig. */
export const SCIM_BODY_LIMIT = MAX_BULK_PAYLOAD_BYTES;

export interface ScimPluginOptions {
  config: Config;
  orm: MikroORM;
  logger: Logger;
  failedAuth: FailedAuthLimiter;
  requestMeta(request: FastifyRequest): RequestMeta;
}

type DirectoryParams = { directory: string; '*'?: string };

function send(reply: FastifyReply, response: ScimResponse) {
  reply.code(response.status).header('content-type', `${SCIM_CONTENT_TYPE}; charset=utf-8`);
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  return response.body === undefined ? reply.send() : reply.send(JSON.stringify(response.body));
}

/**
 * `<public url>/scim/v2/<directory id>/…`: the thin HTTP adapter of the SCIM handler. Bodies are
 * JSON as `application/scim+json` or `application/json`; anything else, or JSON that does not
 * parse, is a SCIM error, as is every other failure.
 */
export async function scimPlugin(app: FastifyInstance, options: ScimPluginOptions): Promise<void> {
  // Refused requests of known directories are audited within each environment's budget of anonymous failures.
  const audit = new AuditBatcher(options.orm, { anonymousFailuresPerMinute: options.config.anonymousFailureAuditsPerMinute, logger: options.logger });
  app.addHook('onClose', () => audit.close());
  const handle = scimHandler({
    orm: options.orm,
    auditFailure: (actor, input) => audit.appendAnonymousFailure(actor, input),
    publicUrl: () => options.config.publicUrl,
    requestsPerMinute: options.config.scimRequestsPerMinute,
    failedAuth: options.failedAuth,
    logger: options.logger,
  });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([SCIM_CONTENT_TYPE, 'application/json'], { parseAs: 'string', bodyLimit: SCIM_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch {
        const error = Object.assign(new Error('The body is not valid JSON'), { statusCode: 400, scimType: 'invalidSyntax' });
        done(error, undefined);
      }
    });
    // Errors before the handler (a body that is not JSON, too large, of another type) are SCIM errors too.
    scope.setErrorHandler((error: Error & { statusCode?: number; code?: string; scimType?: string }, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) reply.log.error({ err: error }, 'SCIM request failed');
      const detail =
        error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `The body must be ${SCIM_CONTENT_TYPE} (or application/json)`
          : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? `The body is larger than ${SCIM_BODY_LIMIT} bytes`
            : status === 500
              ? 'Internal server error'
              : error.scimType
                ? error.message
                : (clientError(error as FastifyError)?.message ?? 'The request cannot be read');
      return send(reply, scimErrorResponse(status, detail, error.scimType ?? (status === 400 ? 'invalidSyntax' : null)));
    });
    const route = async (request: FastifyRequest<{ Params: DirectoryParams }>, reply: FastifyReply) => {
      // Fastify has decoded the wildcard already (and refused a URL that is not valid percent-encoding).
      const path = (request.params['*'] ?? '').split('/').filter((segment) => segment !== '');
      const response = await handle({
        method: request.method,
        directoryId: request.params.directory,
        path,
        query: request.query as Record<string, unknown>,
        authorization: request.headers.authorization,
        ifMatch: request.headers['if-match'],
        ifNoneMatch: request.headers['if-none-match'],
        body: request.body,
        meta: options.requestMeta(request),
      });
      return send(reply, response);
    };
    for (const url of ['/scim/v2/:directory', '/scim/v2/:directory/*']) {
      scope.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url, handler: route });
    }
  });
}
