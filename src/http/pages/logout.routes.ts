import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resumeSession } from '../../modules/session/session.service.js';
import { signOut } from '../../modules/sign-in/sign-in.service.js';
import { environmentEm } from '../oauth/context.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { responseUri } from '../oauth/authorize/request.js';
import { verifyIdTokenHint } from '../oauth/tokens.js';
import { field, message, queryParameters, refetchWithCookies, seeOther, type Fields } from './page-kit.js';
import { brand, sendPage } from './render.js';
import type { SignInDeps } from './sign-in.routes.js';

type EnvParams = { env: string };
const PARAMETERS = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'logout_hint', 'ui_locales'];
const MAX_STATE = 2048;

/**
 * OpenID Connect RP-Initiated Logout 1.0 at `<issuer>/oauth/logout` (GET and POST). The browser
 * goes back only to a post-logout redirect URI its application registered, exactly. A request
 * whose `id_token_hint` names the browser's own session signs out at once; any other (a link
 * anyone could plant) asks the person first, by a form with a CSRF token. Signing out ends the
 * session, revokes its refresh tokens and tells the applications that registered a back-channel
 * logout URI.
 */
export function registerLogoutRoutes(scope: FastifyInstance, deps: SignInDeps, environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>): void {
  const { binding } = deps;
  const refuse = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, text: string, reason: string) =>
    message(reply, request, env, 400, 'This sign-out request is not valid', text, reason);

  const logout = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const env = await environment(request);
    const fields: Fields = request.method === 'POST' ? ((request.body as Fields | undefined) ?? new Map()) : queryParameters(request);
    const again = refetchWithCookies(request, reply, binding.existingBrowserId(request) !== undefined || binding.sessionToken(request, env.id) !== undefined, fields);
    if (again) return again;
    for (const name of PARAMETERS) if ((fields.get(name)?.length ?? 0) > 1) return refuse(reply, request, env, 'A parameter is repeated.', 'invalid_request');
    const hintToken = field(fields, 'id_token_hint');
    const hint = hintToken ? await verifyIdTokenHint(env, hintToken) : null;
    if (hintToken && !hint) return refuse(reply, request, env, 'id_token_hint is not an ID token of this issuer.', 'invalid_id_token_hint');
    const hintAudience = hint ? ([] as string[]).concat(hint.aud ?? []) : [];
    const clientId = field(fields, 'client_id') ?? (hintAudience.length === 1 ? hintAudience[0] : undefined);
    if (hint && clientId && !hintAudience.includes(clientId)) return refuse(reply, request, env, 'client_id is not the audience of id_token_hint.', 'invalid_request');
    const client = clientId && clientId.length <= 2048 ? await deps.cache.client(env, clientId) : null;
    if (clientId && (!client || !client.enabled || !client.signsPeopleIn)) return refuse(reply, request, env, 'client_id names no application of this environment.', 'invalid_client');
    const postLogout = field(fields, 'post_logout_redirect_uri');
    if (postLogout && !client?.postLogoutRedirectUris.includes(postLogout)) {
      return refuse(reply, request, env, 'post_logout_redirect_uri is not one the application registered.', 'invalid_request');
    }
    const state = field(fields, 'state');
    if (state && state.length > MAX_STATE) return refuse(reply, request, env, 'state is too long.', 'invalid_request');

    const token = binding.sessionToken(request, env.id);
    const em = environmentEm(deps.orm, env);
    const session = await resumeSession(em, token, env.id, env.session);
    const confirmed =
      (hint !== null && session !== null && hint.sid === session.id) ||
      (request.method === 'POST' && field(fields, 'confirm') === 'yes' && binding.checkCsrf(binding.existingBrowserId(request), field(fields, 'csrf')));
    if (session && !confirmed) {
      const browserId = binding.browserId(request, reply);
      const hidden: Record<string, string> = { confirm: 'yes' };
      for (const name of ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state']) {
        const value = field(fields, name);
        if (value) hidden[name] = value;
      }
      return sendPage(
        reply,
        'message',
        {
          title: 'Sign out?',
          ...brand(env),
          message: client ? `${client.name} asks to sign you out of ${env.name}.` : `Sign out of ${env.name} in this browser?`,
          reason: null,
          csrf: binding.csrfToken(browserId),
          form: { action: `/e/${env.id}/oauth/logout`, fields: hidden, label: 'Sign out' },
        },
        { redirectTargets: postLogout ? [postLogout] : [] },
      );
    }
    if (session) {
      // The applications that registered a back-channel logout URI are told by the logout workers.
      await em.transactional((tx) => signOut(tx, env, session, deps.requestMeta(request), client?.id ?? null));
    }
    binding.clearSession(reply, env.id);
    if (postLogout) return seeOther(reply, responseUri(postLogout, { state: state ?? null }));
    return message(reply, request, env, 200, 'You are signed out', `You have signed out of ${env.name} in this browser.`, null);
  };
  scope.get('/e/:env/oauth/logout', logout);
  scope.post('/e/:env/oauth/logout', logout);
}
