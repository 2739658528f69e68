import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsoConnectionType } from '../../modules/connection/connection.entity.js';
import { findConnection } from '../../modules/connection/connection.service.js';
import { oidcRedirectUri } from '../../modules/connection/connection.urls.js';
import { abandonOidcRequest, oidcIdentity, oidcReady, pendingOidcRequest, providerOf, startOidcSignIn, takeOidcRequest } from '../../modules/connection/oidc-sign-in.service.js';
import { recordSsoFailure } from '../../modules/connection/saml-sign-in.service.js';
import type { SsoConnection } from '../../modules/connection/connection.entity.js';
import { requestOf, signInThroughConnection } from '../../modules/sign-in/sign-in.service.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { message, seeOther } from './page-kit.js';
import type { SignInDeps, SignInKit } from './sign-in.routes.js';
import { ssoFailed, ssoSignedIn, unavailable } from './sso.routes.js';

type EnvParams = { env: string };
type ConnectionParams = EnvParams & { id: string };
type CallbackQuery = { state?: string; code?: string; error?: string };

/**
 * Sign-in through an organization's OpenID Provider as a step of the hosted sign-in flow:
 * `start` sends the browser to the provider (code flow, PKCE, state and nonce kept server-side
 * for the flow); the provider sends it back to the environment's one callback, a top-level
 * GET that carries the flow's Lax cookie. The callback signs in only the browser whose flow
 * the state belongs to.
 */
export function registerOidcSsoRoutes(
  scope: FastifyInstance,
  deps: SignInDeps,
  environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>,
  kit: SignInKit,
): void {
  const { binding } = deps;

  /** Audits the refusal and shows its page. */
  const refuse = async (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, connection: SsoConnection, failure: { reason: string; detail: string }) => {
    await kit.tx(env, async (em) => {
      recordSsoFailure(em, env, connection, failure, deps.requestMeta(request));
      await em.flush();
    });
    return ssoFailed(reply, request, env, failure.reason);
  };

  scope.get('/e/:env/sso/oidc/:id/start', async (request: FastifyRequest<{ Params: ConnectionParams; Querystring: { flow?: string; login_hint?: string } }>, reply) => {
    const env = await environment(request);
    const found = await kit.flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return kit.flowGone(reply, request, env);
    const connection = await kit.tx(env, (em) => findConnection(em, request.params.id, SsoConnectionType.OIDC));
    if (!connection || !oidcReady(connection)) return unavailable(reply, request, env);
    // Discovery is a network call: outside any transaction.
    const config = await providerOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, config);
    const pending = requestOf(found.flow);
    const typed = request.query.login_hint;
    const url = await kit.tx(env, (em) =>
      startOidcSignIn(em, env, deps.oidc, config, connection, {
        id: found.flow.id,
        forceAuthn: pending.prompt.includes('login') || pending.maxAge !== null,
        maxAge: pending.maxAge,
        loginHint: typed && typed.length <= 320 && typed.includes('@') ? typed : pending.loginHint,
      }),
    );
    if (!url) return message(reply, request, env, 429, 'Too many sign-in attempts', 'Go back to the application and sign in again.', 'rate_limited');
    return seeOther(reply, url.toString());
  });

  scope.get('/e/:env/sso/oidc/callback', async (request: FastifyRequest<{ Params: EnvParams; Querystring: CallbackQuery }>, reply) => {
    const env = await environment(request);
    const state = typeof request.query.state === 'string' ? request.query.state : '';
    // The flow the state was issued for must be this browser's: a provider link forwarded to
    // someone else comes back in their browser, without the flow's cookie, and signs nobody in.
    const pending = state.length <= 200 ? await pendingOidcRequest(kit.emOf(env), state) : null;
    if (!pending) return kit.flowGone(reply, request, env);
    const found = await kit.flowAndClient(env, pending.flowId, binding.existingBrowserId(request));
    if (!found) {
      await kit.tx(env, (em) => abandonOidcRequest(em, state));
      return kit.flowGone(reply, request, env);
    }
    const taken = await kit.tx(env, (em) => takeOidcRequest(em, { state, flowId: found.flow.id }));
    if (!taken) return kit.flowGone(reply, request, env);
    if ('reason' in taken) {
      const connection = await kit.tx(env, (em) => findConnection(em, pending.connectionId, SsoConnectionType.OIDC));
      return connection ? refuse(reply, request, env, connection, taken) : unavailable(reply, request, env);
    }
    const { request: used, connection } = taken;
    const config = await providerOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, config);
    // The URL the provider sent the browser to, as openid-client checks it (state, iss, code or error).
    const callbackUrl = new URL(oidcRedirectUri(env.issuer));
    callbackUrl.search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const completed = await deps.oidc.complete(config, callbackUrl, { state, nonce: used.nonce, codeVerifier: used.codeVerifier });
    if (!completed.ok) return refuse(reply, request, env, connection, completed);
    const previousSessionToken = binding.sessionToken(request, env.id);
    const outcome = await kit.tx(env, async (em) => {
      const person = await oidcIdentity(em, connection, completed.claims);
      if (!person.ok) return person;
      const { identity } = person;
      return {
        ok: true as const,
        result: await signInThroughConnection(em, env, {
          connectionId: connection.id,
          organizationId: connection.organizationId,
          subject: identity.nameId,
          inVerifiedDomain: identity.inVerifiedDomain,
          email: identity.email,
          givenName: identity.givenName,
          familyName: identity.familyName,
          flowId: found.flow.id,
          meta: deps.requestMeta(request),
          previousSessionToken,
        }),
      };
    });
    if (!outcome.ok) return refuse(reply, request, env, connection, outcome);
    return ssoSignedIn(reply, request, env, kit, outcome.result, found.flow.id);
  });
}
