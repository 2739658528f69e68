import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../../audit/audit-recorder.js';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { retryOnUniqueViolation } from '../../db/db-errors.js';
import { socialRedirectUri } from '../../modules/connection/connection.urls.js';
import { abandonOidcRequest, mayStartOidcSignIn, pendingOidcRequest } from '../../modules/connection/oidc-sign-in.service.js';
import type { SocialConnection } from '../../modules/social/social-connection.entity.js';
import {
  completeSocialSignIn,
  findSocialConnection,
  provesFreshSignIn,
  signInWithSocial,
  socialConnectionUnchanged,
  socialProviderOf,
  startSocialSignIn,
  takeSocialRequest,
} from '../../modules/social/social-sign-in.service.js';
import { requestOf } from '../../modules/sign-in/sign-in.service.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { message, seeOther } from './page-kit.js';
import { asksFreshSignIn, type SignInDeps, type SignInKit, type SignInNotice } from './sign-in.routes.js';

type EnvParams = { env: string };
type ConnectionParams = EnvParams & { id: string };
/** Sign-ins started at providers per client address and minute: each may cost a discovery request out. */
const STARTS_PER_ADDRESS_PER_MINUTE = 60;

/** Refusals the person can do something about on the sign-in page: back to it, with a fixed notice. */
const BACK_TO_SIGN_IN: Partial<Record<string, SignInNotice>> = {
  idp_error: 'social_cancelled',
  email_not_verified: 'social_email_not_verified',
  sign_up_closed: 'social_sign_up_closed',
};

/**
 * Sign-in with a social connection (Google, Microsoft, GitHub, GitLab, any OAuth 2.0 / OpenID
 * Connect provider) as a step of the hosted sign-in flow: `start` sends the browser to the
 * provider with state, PKCE (and a nonce for OpenID Connect) kept server-side for the flow; the
 * provider sends it back to the environment's one social callback, a top-level GET that
 * carries the flow's Lax cookie, and only the browser whose flow the state belongs to signs in.
 */
export function registerSocialRoutes(
  scope: FastifyInstance,
  deps: SignInDeps,
  environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>,
  kit: SignInKit,
): void {
  const { binding } = deps;
  const startBudget = new RateBudget(STARTS_PER_ADDRESS_PER_MINUTE);

  const tooMany = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState) =>
    message(reply, request, env, 429, 'Too many sign-in attempts', 'Go back to the application and sign in again.', 'rate_limited');

  /**
   * Audits a refusal at the provider (`social.signin_failed`) and answers it: back to the sign-in
   * page when the person can choose another way, else a page with the reason. The provider's
   * own error text arrives in a URL any browser can write: it is not kept.
   */
  const refuse = async (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, connection: SocialConnection, flowId: string, failure: { reason: string; detail: string }) => {
    await kit.tx(env, async (em) => {
      recordAudit(em, { principal: null, anonymous: true, meta: deps.requestMeta(request) }, {
        action: 'social.signin_failed',
        workspaceId: env.workspaceId,
        environmentId: env.id,
        targets: [{ type: 'social_connection', id: connection.id, name: connection.name }],
        after: { reason: failure.reason, ...(failure.reason === 'idp_error' ? {} : { detail: failure.detail }) },
      });
      await em.flush();
    });
    return failed(reply, request, env, connection, flowId, failure.reason);
  };

  const failed = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, connection: SocialConnection, flowId: string, reason: string) => {
    const notice = BACK_TO_SIGN_IN[reason];
    if (notice) return seeOther(reply, kit.signInPath(env, flowId, notice));
    return kit.refused(reply, request, env, flowId, {
      status: reason === 'user_suspended' || reason === 'user_deprovisioned' || reason === 'sso_required' ? 403 : 502,
      title: `Signing in with ${connection.name} failed`,
      text:
        reason === 'sso_required'
          ? 'Your organization requires you to sign in through its identity provider: go back and sign in with your work email address.'
          : 'Try again, or sign in another way. If it keeps failing, give the reason and request id below to the application owner.',
      reason: `social.${reason}`,
    });
  };

  scope.get('/e/:env/social/:id/start', async (request: FastifyRequest<{ Params: ConnectionParams; Querystring: { flow?: string } }>, reply) => {
    const env = await environment(request);
    const found = await kit.flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return kit.flowGone(reply, request, env);
    if ((await startBudget.take(addressKey(request.ip ?? null))) > 0) {
      return message(reply, request, env, 429, 'Too many sign-in attempts', 'Too many sign-ins came from this network; try again in a minute.', 'rate_limited');
    }
    const checked = await kit.tx(env, async (em) => ({
      connection: await findSocialConnection(em, request.params.id),
      allowed: await mayStartOidcSignIn(em, found.flow.id),
    }));
    const { connection } = checked;
    if (!connection) return message(reply, request, env, 404, 'This sign-in option is not available', 'Go back and choose another way to sign in.', 'social_connection_unavailable');
    if (!checked.allowed) return tooMany(reply, request, env);
    if (asksFreshSignIn(found.flow) && !provesFreshSignIn(connection)) {
      return message(reply, request, env, 400, 'This sign-in option is not available', `The application asks for a fresh sign-in, which ${connection.name} cannot prove. Go back and choose another way to sign in.`, 'social.fresh_sign_in_unsupported');
    }
    // Discovery is a network call: outside any transaction.
    const config = await socialProviderOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, found.flow.id, config);
    const pending = requestOf(found.flow);
    const url = await kit.tx(env, (em) =>
      startSocialSignIn(em, env, deps.oidc, config, connection, {
        id: found.flow.id,
        forceAuthn: pending.prompt.includes('login') || pending.maxAge !== null,
        maxAge: pending.maxAge,
        loginHint: pending.loginHint,
      }),
    );
    if (!url) return tooMany(reply, request, env);
    return seeOther(reply, url.toString());
  });

  scope.get('/e/:env/social/callback', async (request: FastifyRequest<{ Params: EnvParams; Querystring: { state?: string } }>, reply) => {
    const env = await environment(request);
    const state = typeof request.query.state === 'string' ? request.query.state : '';
    const pending = state.length <= 200 ? await pendingOidcRequest(kit.emOf(env), state) : null;
    // An organization's OIDC connection has its own callback.
    if (!pending?.socialConnectionId) return kit.flowGone(reply, request, env);
    const found = await kit.flowAndClient(env, pending.flowId, binding.existingBrowserId(request));
    if (!found) {
      // The answer came back in a browser that did not start the sign-in (a forwarded link?):
      // the request is used up, so the code in that URL signs nobody in.
      await kit.tx(env, (em) => abandonOidcRequest(em, state));
      return kit.flowGone(reply, request, env);
    }
    const flowId = found.flow.id;
    const taken = await kit.tx(env, (em) => takeSocialRequest(em, { state, flowId }));
    if (!taken) return kit.flowGone(reply, request, env);
    if ('reason' in taken) {
      const connection = await kit.tx(env, (em) => findSocialConnection(em, pending.socialConnectionId!));
      if (!connection) return message(reply, request, env, 404, 'This sign-in option is not available', 'Go back and choose another way to sign in.', 'social_connection_unavailable');
      return refuse(reply, request, env, connection, flowId, taken);
    }
    const { request: used, connection } = taken;
    const config = await socialProviderOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, flowId, config);
    // The URL the provider sent the browser to, as openid-client checks it (state, iss, code or error).
    const callbackUrl = new URL(socialRedirectUri(env.issuer));
    callbackUrl.search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const completed = await completeSocialSignIn(deps.oidc, config, connection, callbackUrl, used, state);
    if (!completed.ok) return refuse(reply, request, env, connection, flowId, completed);
    const previousSessionToken = binding.sessionToken(request, env.id);
    // Retried once should a concurrent first sign-in of the same person create them meanwhile.
    const outcome = await retryOnUniqueViolation(() =>
      kit.tx(env, async (em) => {
        const flow = kit.adoptFlow(em, found.flow);
        if (!(await socialConnectionUnchanged(em, connection))) return null;
        const result = await signInWithSocial(em, env, { connection, profile: completed.profile, flowId: flow.id, meta: deps.requestMeta(request), previousSessionToken });
        return { result, next: await kit.continueAfterSignIn(em, env, found.client, flow, result) };
      }),
    );
    if (!outcome) return refuse(reply, request, env, connection, flowId, { reason: 'connection_unavailable', detail: 'The connection was switched off or pointed at another provider during the sign-in' });
    const { result } = outcome;
    if (!result.ok) return failed(reply, request, env, connection, flowId, result.reason);
    return kit.signedIn(request, reply, env, result, flowId, outcome.next);
  });
}
