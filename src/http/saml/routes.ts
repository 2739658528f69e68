import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isIdOf } from '../../db/id.js';
import { findConnection } from '../../modules/connection/connection.service.js';
import { SsoConnectionType } from '../../modules/connection/connection.entity.js';
import { ISSUER_PATH_PREFIX } from '../../modules/environment/issuer.js';
import { environmentEm, type OAuthDeps } from '../oauth/context.js';
import { serviceProviderMetadata } from './metadata.js';
import { spKeysOf } from '../../modules/connection/sp-key.service.js';

type ConnectionParams = { env: string; id: string };

/** A SAML endpoint's refusal: a plain page with a reason code and the request id, never XML or a stack. */
function refuse(reply: FastifyReply, request: FastifyRequest, status: number, reason: string, message: string) {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`${message}\nreason: ${reason}\nrequest id: ${request.id}\n`);
}

/** The SAML service provider's endpoints under each environment's issuer: `<issuer>/sso/saml/<connection id>/…`. */
export async function registerSamlRoutes(app: FastifyInstance, deps: Pick<OAuthDeps, 'orm' | 'cache' | 'config'>): Promise<void> {
  app.get(`${ISSUER_PATH_PREFIX}:env/sso/saml/:id/metadata`, async (request: FastifyRequest<{ Params: ConnectionParams }>, reply) => {
    const env = isIdOf('environment', request.params.env) ? await deps.cache.environment(request.params.env) : null;
    const connection = env ? await findConnection(environmentEm(deps.orm, env), request.params.id, SsoConnectionType.SAML) : null;
    if (!env || !connection) return refuse(reply, request, 404, 'sso.unknown_connection', 'No such SAML connection');
    return reply
      .header('content-type', 'application/samlmetadata+xml; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(serviceProviderMetadata(env.issuer, connection, await spKeysOf(environmentEm(deps.orm, env), connection.id)));
  });
}
