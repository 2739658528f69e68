import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { isCleanText } from '../../modules/text.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { message, PageError } from './page-kit.js';
import { STYLESHEET_PATH } from './render.js';
import { registerSignInRoutes, type SignInDeps } from './sign-in.routes.js';
import { registerLogoutRoutes } from './logout.routes.js';
import { registerSsoRoutes } from './sso.routes.js';
import { registerOidcSsoRoutes } from './sso-oidc.routes.js';
import { registerSimulatorRoutes } from './simulator.routes.js';
import { registerDirectorySimulatorRoutes } from './directory-simulator.routes.js';
import { registerSocialRoutes } from './social.routes.js';

/** Form bodies of the hosted pages and the authorization endpoint are small. */
const PAGE_BODY_LIMIT = 16 * 1024;
const MAX_FIELDS = 64;
const ENVIRONMENT_ID = /^env_[0-9a-hjkmnp-tv-z]{26}$/;


/** Parses a form body into every value of every field, as received (the authorization endpoint judges repeats itself). */
function parseFields(body: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let count = 0;
  for (const [name, value] of new URLSearchParams(body)) {
    if ((count += 1) > MAX_FIELDS) throw new PageError(400, 'too_many_fields', 'The form sent too many fields.');
    if (!isCleanText(name) || !isCleanText(value)) throw new PageError(400, 'malformed_form', 'The form sent text that is not well-formed.');
    if (value === '') continue;
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
}

/**
 * The hosted pages: the authorization endpoint and sign-in under each environment's issuer, and
 * their one stylesheet. Errors are pages with a reason code and the request id, never a trace.
 */
export async function registerHostedPages(app: FastifyInstance, deps: SignInDeps): Promise<void> {
  const stylesheet = readFileSync(STYLESHEET_PATH);
  app.get('/assets/gatehouse.css', async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(stylesheet),
  );

  await app.register(async (scope) => {
    await scope.register(fastifyCookie);
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: PAGE_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, parseFields(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    scope.setErrorHandler((error, request, reply) => {
      const page = (status: number, reason: string, text: string) =>
        message(reply, request, null, status, status >= 500 ? 'Something went wrong' : 'This request cannot be answered', text, reason);
      if (error instanceof PageError) return page(error.status, error.reason, error.text);
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 413) return page(413, 'body_too_large', 'The form sent too much data.');
      if (status === 415) return page(415, 'unsupported_media_type', 'Send the form as application/x-www-form-urlencoded.');
      if (status && status >= 400 && status < 500) return page(400, 'bad_request', 'The request was malformed.');
      request.log.error({ err: error }, 'hosted page failed');
      return page(500, 'server_error', 'Gatehouse could not finish this request. Try again; if it keeps failing, give the request id below to the application owner.');
    });
    const environment = async (request: FastifyRequest<{ Params: { env: string } }>): Promise<EnvironmentState> => {
      const env = ENVIRONMENT_ID.test(request.params.env) ? await deps.cache.environment(request.params.env) : null;
      if (!env) throw new PageError(404, 'issuer_not_found', 'There is no such sign-in page.');
      return env;
    };
    const kit = registerSignInRoutes(scope, deps, environment);
    registerSsoRoutes(scope, deps, environment, kit, parseFields);
    registerOidcSsoRoutes(scope, deps, environment, kit);
    registerSimulatorRoutes(scope, deps, environment, kit);
    registerDirectorySimulatorRoutes(scope, deps, environment, kit);
    registerSocialRoutes(scope, deps, environment, kit);
    registerLogoutRoutes(scope, deps, environment);
  });
}
