import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsoConnectionType } from '../../modules/connection/connection.entity.js';
import { findConnection } from '../../modules/connection/connection.service.js';
import { oidcRedirectUri } from '../../modules/connection/connection.urls.js';
import { abandonOidcRequest, mayStartOidcSignIn, oidcIdentity, oidcReady, pendingOidcRequest, providerOf, startOidcSignIn, takeOidcRequest } from '../../modules/connection/oidc-sign-in.service.js';
import { recordSsoFailure } from '../../modules/connection/saml-sign-in.service.js';
import type { SsoConnection } from '../../modules/connection/connection.entity.js';
import { requestOf, signInThroughConnection } from '../../modules/sign-in/sign-in.service.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { retryOnUniqueViolation } from '../../db/db-errors.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { message, seeOther } from './page-kit.js';
import type { SignInDeps, SignInKit } from './sign-in.routes.js';
import { ssoFailed, ssoSignedIn, traceSettings, traceSignIn, unavailable } from './sso.routes.js';
import { failTrace, openTrace, traceOf, tracedClaims, traceStep } from '../../modules/connection/sso-trace.service.js';

type EnvParams = { env: string };
type ConnectionParams = EnvParams & { id: string };
/** Sign-ins started at providers per client address and minute: each may cost a discovery request out. */
const STARTS_PER_ADDRESS_PER_MINUTE = 60;
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
  const startBudget = new RateBudget(STARTS_PER_ADDRESS_PER_MINUTE);

  /** Audits the refusal, puts it on the attempt's trace (a new one before there was any), and shows its page. */
  const refuse = async (
    reply: FastifyReply,
    request: FastifyRequest,
    env: EnvironmentState,
    connection: SsoConnection,
    failure: { reason: string; detail: string },
    trace: { id: string | null; flowId: string | null },
  ) => {
    await kit.tx(env, async (em) => {
      // A provider's refusal arrives as query parameters any browser can write: its text goes to
      // the trace, marked so, never to the audit trail.
      const fromBrowser = failure.reason === 'idp_error';
      recordSsoFailure(em, env, connection, fromBrowser ? { reason: failure.reason, detail: null } : failure, deps.requestMeta(request));
      const traced = (await traceOf(em, trace.id)) ?? openTrace(em, connection, traceSettings(deps, request), { flowId: trace.flowId });
      failTrace(traced, deps.requestMeta(request).requestId, fromBrowser ? { ...failure, detail: `${failure.detail} [as the browser brought it back]` } : failure);
      await em.flush();
    });
    return ssoFailed(reply, request, env, kit, trace.flowId, failure.reason);
  };

  scope.get('/e/:env/sso/oidc/:id/start', async (request: FastifyRequest<{ Params: ConnectionParams; Querystring: { flow?: string; login_hint?: string } }>, reply) => {
    const env = await environment(request);
    const found = await kit.flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return kit.flowGone(reply, request, env);
    if ((await startBudget.take(addressKey(request.ip ?? null))) > 0) {
      return message(reply, request, env, 429, 'Too many sign-in attempts', 'Too many sign-ins came from this network; try again in a minute.', 'rate_limited');
    }
    const checked = await kit.tx(env, async (em) => ({
      connection: await findConnection(em, request.params.id, SsoConnectionType.OIDC),
      allowed: await mayStartOidcSignIn(em, found.flow.id),
    }));
    const { connection } = checked;
    if (!connection || !oidcReady(connection)) return unavailable(reply, request, env);
    if (!checked.allowed) return message(reply, request, env, 429, 'Too many sign-in attempts', 'Go back to the application and sign in again.', 'rate_limited');
    // Discovery is a network call: outside any transaction.
    const config = await providerOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, config, { id: null, flowId: found.flow.id });
    const pending = requestOf(found.flow);
    const typed = request.query.login_hint;
    const url = await kit.tx(env, (em) =>
      startOidcSignIn(em, env, deps.oidc, config, connection, {
        id: found.flow.id,
        forceAuthn: pending.prompt.includes('login') || pending.maxAge !== null,
        maxAge: pending.maxAge,
        loginHint: typed && typed.length <= 320 && typed.includes('@') ? typed : pending.loginHint,
      }, traceSettings(deps, request)),
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
    // A social connection's request has its own callback.
    const connectionId = pending?.connectionId;
    if (!pending || !connectionId) return kit.flowGone(reply, request, env);
    const found = await kit.flowAndClient(env, pending.flowId, binding.existingBrowserId(request));
    if (!found) {
      await kit.tx(env, async (em) => {
        await abandonOidcRequest(em, state);
        failTrace(await traceOf(em, pending.traceId), deps.requestMeta(request).requestId, {
          reason: 'flow_not_found',
          detail: 'The provider\'s answer came back in a browser that did not start the sign-in (a forwarded link?); it was used up',
        });
        await em.flush();
      });
      return kit.flowGone(reply, request, env);
    }
    const taken = await kit.tx(env, (em) => takeOidcRequest(em, { state, flowId: found.flow.id }));
    if (!taken) return kit.flowGone(reply, request, env);
    if ('reason' in taken) {
      const connection = await kit.tx(env, (em) => findConnection(em, connectionId, SsoConnectionType.OIDC));
      return connection ? refuse(reply, request, env, connection, taken, { id: pending.traceId, flowId: pending.flowId }) : unavailable(reply, request, env);
    }
    const { request: used, connection } = taken;
    const traced = { id: used.traceId, flowId: used.flowId };
    const requestId = deps.requestMeta(request).requestId;
    const config = await providerOf(deps.oidc, deps.box, connection);
    if ('ok' in config) return refuse(reply, request, env, connection, config, traced);
    // The URL the provider sent the browser to, as openid-client checks it (state, iss, code or error).
    const callbackUrl = new URL(oidcRedirectUri(env.issuer));
    callbackUrl.search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const completed = await deps.oidc.complete(config, callbackUrl, {
      state,
      nonce: used.nonce,
      codeVerifier: used.codeVerifier,
      maxAge: used.maxAge,
      freshSince: used.forceAuthn ? used.createdAt : null,
    });
    if (!completed.ok) return refuse(reply, request, env, connection, completed, traced);
    const previousSessionToken = binding.sessionToken(request, env.id);
    // Retried once should a concurrent first sign-in of the same person create them meanwhile.
    const outcome = await retryOnUniqueViolation(() => kit.tx(env, async (em) => {
      const flow = kit.adoptFlow(em, found.flow);
      const trace = await traceOf(em, used.traceId);
      if (trace) trace.profile = tracedClaims(completed.claims);
      traceStep(trace, requestId, 'code_exchanged', true, `ID token of ${completed.claims.sub} validated${completed.fromUserinfo ? '; claims completed from userinfo' : ''}`);
      await em.flush();
      const person = await oidcIdentity(em, connection, completed.claims);
      if (!person.ok) return person;
      const { identity } = person;
      const result = await signInThroughConnection(em, env, { connection, identity, flowId: flow.id, meta: deps.requestMeta(request), previousSessionToken });
      await traceSignIn(em, used.traceId, requestId, result);
      return { ok: true as const, result, next: await kit.continueAfterSignIn(em, env, found.client, flow, result) };
    }));
    if (!outcome.ok) return refuse(reply, request, env, connection, outcome, traced);
    return ssoSignedIn(reply, request, env, kit, outcome.result, found.flow.id, outcome.next);
  });
}
