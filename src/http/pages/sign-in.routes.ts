import type { EntityManager } from '@mikro-orm/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { AppError } from '../../errors/app-error.js';
import { EnvironmentKind } from '../../modules/environment/environment.entity.js';
import { ApplicationType } from '../../modules/oauth-client/oauth-client.entity.js';
import { keepInOutbox } from '../../modules/email/email.service.js';
import type { Mailer, OutgoingMail } from '../../modules/email/mailer.js';
import { resumeSession } from '../../modules/session/session.service.js';
import { challengeOfLink } from '../../modules/sign-in/challenge.service.js';
import type { SignInFlow } from '../../modules/sign-in/flow.entity.js';
import {
  adoptFlow,
  advanceFlow,
  chooseOrganization,
  grantConsent,
  openFlow,
  pendingChallenge,
  requestOf,
  signInWithCode,
  signInWithLink,
  ssoRequiredFor,
  startEmailSignIn,
  startFlow,
  type FlowStep,
  type SignInResult,
} from '../../modules/sign-in/sign-in.service.js';
import { UserRepository } from '../../modules/user/user.repository.js';
import { environmentEm, type OAuthDeps } from '../oauth/context.js';
import type { ClientState, EnvironmentState } from '../oauth/oauth-cache.js';
import { authorizationPolicy, resolvePushedRequest } from '../oauth/authorize/pushed.js';
import { checkAuthorizationRequest, responseUri, type RawParameters } from '../oauth/authorize/request.js';
import type { BrowserBinding } from './browser.js';
import { connectionForEmail, connectionForHints } from '../../modules/connection/saml-sign-in.service.js';
import { ssoStartPath } from './sso.routes.js';
import { findSocialConnection, provesFreshSignIn } from '../../modules/social/social-sign-in.service.js';
import { isIdOf } from '../../db/id.js';
import type { OidcRelyingParty } from '../../modules/connection/oidc/relying-party.js';
import { brand, sendPage } from './render.js';
import { field, message, queryParameters, refetchWithCookies, seeOther, type Fields } from './page-kit.js';

export interface SignInDeps extends OAuthDeps {
  mailer: Mailer;
  /** Gatehouse as the relying party of organizations' OpenID Providers. */
  oidc: OidcRelyingParty;
  binding: BrowserBinding;
  requestMeta(request: FastifyRequest): RequestMeta;
}

type EnvParams = { env: string };
/** Authorization requests (each a stored flow) per client address and minute, per process. */
const FLOWS_PER_ADDRESS_PER_MINUTE = 600;

/**
 * What the email page says when a social sign-in sent the person back to it (`notice`): fixed
 * words, so the query parameter carries no text of its own onto the page.
 */
export const SIGN_IN_NOTICES = {
  social_cancelled: 'Signing in with that account did not finish. Choose another way to sign in.',
  social_email_not_verified: 'That account\'s email address is not verified by its provider. Verify it there, or sign in with your email address.',
  social_sign_up_closed: 'No account here uses that account\'s email address, and new accounts cannot sign up. Sign in with the address you were invited with.',
} as const;
export type SignInNotice = keyof typeof SIGN_IN_NOTICES;

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it',
};

/**
 * The hosted sign-in: the authorization endpoint (GET and POST, OAuth 2.1 §4.1.1) and the pages
 * behind it, under each environment's issuer. Every page is bound to the browser (flows by
 * cookie, forms by CSRF token); every state change is a POST answered by a redirect.
 */
export function registerSignInRoutes(scope: FastifyInstance, deps: SignInDeps, environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>): SignInKit {
  const { binding } = deps;
  const base = '/e/:env';
  const flowBudget = new RateBudget(FLOWS_PER_ADDRESS_PER_MINUTE);
  const paths = (env: EnvironmentState) => {
    const root = `/e/${env.id}`;
    return {
      signIn: (flow: string, notice?: SignInNotice) => `${root}/sign-in?flow=${flow}${notice ? `&notice=${notice}` : ''}`,
      email: `${root}/sign-in/email`,
      code: `${root}/sign-in/code`,
      codePage: (flow: string, challenge: string) => `${root}/sign-in/code?flow=${flow}&challenge=${challenge}`,
      link: `${root}/sign-in/link`,
      proceed: (flow: string) => `${root}/sign-in/continue?flow=${flow}`,
      organization: `${root}/sign-in/organization`,
      consent: `${root}/sign-in/consent`,
      abandon: `${root}/sign-in/abandon`,
    };
  };
  const tx = <T>(env: EnvironmentState, work: (em: EntityManager) => Promise<T>) => environmentEm(deps.orm, env).transactional(work);


  const flowGone = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState) =>
    message(reply, request, env, 400, 'This sign-in cannot continue', 'It has expired, is finished, or was started in another browser. Go back to the application and sign in again.', 'flow_not_found');

  /** The flow named by a page's request, of this browser, with its (enabled) application. */
  const flowAndClient = async (env: EnvironmentState, flowId: string | undefined, browserId: string | undefined) => {
    const flow = await openFlow(environmentEm(deps.orm, env), flowId, browserId);
    if (!flow) return null;
    const client = await deps.cache.client(env, flow.clientId);
    return client?.enabled ? { flow, client } : null;
  };

  /** Checks a form's CSRF token against the browser's; false has already answered. */
  const csrfOk = (request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, fields: Fields | undefined): boolean => {
    if (binding.checkCsrf(binding.existingBrowserId(request), field(fields, 'csrf'))) return true;
    void message(reply, request, env, 403, 'This form has expired', 'Go back to the application and sign in again. Cookies must be enabled to sign in.', 'csrf_failed');
    return false;
  };

  /**
   * The common start of a form post: the environment, the fields, and the CSRF check; then, for
   * the forms of a flow, the flow of this browser with its application. Null once it has answered.
   */
  const postedForm = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const env = await environment(request);
    const fields = request.body as Fields | undefined;
    if (!csrfOk(request, reply, env, fields)) return null;
    return { env, fields, browserId: binding.existingBrowserId(request)! };
  };
  const postedFlowForm = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const form = await postedForm(request, reply);
    if (!form) return null;
    const found = await flowAndClient(form.env, field(form.fields, 'flow'), form.browserId);
    if (!found) {
      await flowGone(reply, request, form.env);
      return null;
    }
    return { ...form, ...found };
  };

  /**
   * Someone must sign in: at the social provider or IdP the request's routing hints lead to,
   * else on the email page.
   */
  const authenticate = async (reply: FastifyReply, env: EnvironmentState, flow: SignInFlow) => {
    const pending = requestOf(flow);
    if (pending.connectionId && isIdOf('socialConnection', pending.connectionId)) {
      const social = await findSocialConnection(environmentEm(deps.orm, env), pending.connectionId);
      if (social && (!asksFreshSignIn(flow) || provesFreshSignIn(social))) return seeOther(reply, socialStartPath(env, social.id, flow.id));
    }
    const connection = await connectionForHints(environmentEm(deps.orm, env), env.id, pending);
    return seeOther(reply, connection ? ssoStartPath(env, connection, flow.id) : paths(env).signIn(flow.id));
  };

  /** Answers a flow's next step: a page to fill in, or the redirect back to the application. */
  const answerStep = (request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, client: ClientState, flow: SignInFlow, step: FlowStep, email: string | null, browserId: string) => {
    const pending = requestOf(flow);
    const csrf = binding.csrfToken(browserId);
    const common = { ...brand(env), clientName: client.name, csrf, flow: flow.id };
    switch (step.kind) {
      case 'authenticate':
        return authenticate(reply, env, flow);
      case 'choose_organization':
        return sendPage(reply, 'organizations', { ...common, title: 'Choose an organization', action: paths(env).organization, organizations: step.organizations }, { redirectTargets: [pending.redirectUri] });
      case 'consent': {
        const described = (scope: string) => SCOPE_WORDS[scope] ?? describeApiScope(env, step.resources, scope);
        const resources = step.resources.map((identifier) => env.resourceServers.get(identifier)?.name ?? identifier);
        return sendPage(
          reply,
          'consent',
          {
            ...common,
            title: `Allow ${client.name}?`,
            action: paths(env).consent,
            scopes: step.scopes.map(described),
            resources,
            email: email ?? '',
            // Where the answer goes, and whether anyone vouches for the name: a self-registered client names itself.
            destination: new URL(pending.redirectUri).host || pending.redirectUri.split(':')[0],
            unverified: client.applicationType === ApplicationType.DYNAMIC,
          },
          { redirectTargets: [pending.redirectUri] },
        );
      }
      case 'error':
        if (client.applicationType === ApplicationType.DYNAMIC) return message(reply, request, env, 400, 'You cannot sign in to this application', `${step.description}.`, step.error);
        return seeOther(reply, responseUri(pending.redirectUri, { error: step.error, error_description: step.description, state: pending.state, iss: env.issuer }));
      case 'done':
        return seeOther(reply, responseUri(pending.redirectUri, { code: step.code, state: pending.state, iss: env.issuer }));
    }
  };

  /** Moves the flow on with the browser's session, in one transaction, and answers the step. */
  const proceed = async (request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, flowId: string, browserId = binding.existingBrowserId(request)) => {
    const found = await flowAndClient(env, flowId, browserId);
    if (!found) return flowGone(reply, request, env);
    const { client } = found;
    const result = await tx(env, async (em) => {
      const flow = await openFlow(em, flowId, browserId);
      return flow && nextStep(em, request, env, client, flow);
    });
    if (!result) return flowGone(reply, request, env);
    return answerStep(request, reply, env, client, result.flow, result.step, result.email, browserId!);
  };

  /** In a transaction: the flow's next step with the browser's session (and the email the consent page shows). */
  const nextStep = async (em: EntityManager, request: FastifyRequest, env: EnvironmentState, client: ClientState, flow: SignInFlow) => {
    const session = await resumeSession(em, binding.sessionToken(request, env.id), env.id, env.session);
    const step = await advanceFlow(em, env, client, flow, session);
    const email = step.kind === 'consent' && session ? ((await new UserRepository(em).find(session.userId))?.email ?? null) : null;
    await em.flush();
    return { flow, step, email };
  };

  /**
   * Right after a sign-in, in its transaction: the flow's next step with the new session (the
   * code for the application, when nothing else is asked), so that the browser goes back to the
   * application without another request.
   */
  const continueAfterSignIn = async (em: EntityManager, env: EnvironmentState, client: ClientState, flow: SignInFlow, result: SignInResult): Promise<StepAfterSignIn | null> => {
    if (!result.ok) return null;
    const step = await advanceFlow(em, env, client, flow, result.session);
    await em.flush();
    return { client, flow, step };
  };

  // The authorization endpoint.
  const authorize = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const env = await environment(request);
    const raw: RawParameters = request.method === 'POST' ? ((request.body as Fields | undefined) ?? new Map()) : queryParameters(request);
    const again = refetchWithCookies(request, reply, binding.existingBrowserId(request) !== undefined, raw as Fields);
    if (again) return again;
    const resolved = await resolvePushedRequest(deps, env, raw);
    const params = resolved instanceof Map ? resolved : null;
    const clientIds = params?.get('client_id');
    const clientId = clientIds?.length === 1 ? clientIds[0] : undefined;
    // A client_id that is an https URL names a Client ID Metadata Document: fetched (when not fresh) before anything else.
    if (clientId?.startsWith('https://')) {
      const refused = await deps.metadataDocuments.ensure(env, clientId, deps.requestMeta(request));
      if (refused) return message(reply, request, env, 400, 'This sign-in link is not valid', `${refused}.`, 'invalid_client');
    }
    const client = clientId && clientId.length <= 2048 ? await deps.cache.client(env, clientId) : null;
    const check = params ? checkAuthorizationRequest(params, client, authorizationPolicy(env, client)) : (resolved as Exclude<typeof resolved, RawParameters>);
    if (!check.ok) {
      if ('page' in check) {
        return message(reply, request, env, 400, 'This sign-in link is not valid', `The application sent a request Gatehouse cannot accept: ${check.page.description}.`, check.page.error);
      }
      const { uri, error, description, state, iss } = check.redirect;
      // A self-registered client's redirect URI is anyone's: its errors are shown, not sent
      // there, so the endpoint is no redirector for whoever registers (RFC 9700 §4.11.2).
      if (client?.applicationType === ApplicationType.DYNAMIC) {
        return message(reply, request, env, 400, 'This sign-in link is not valid', `The application sent a request Gatehouse cannot accept: ${description}.`, error);
      }
      return seeOther(reply, responseUri(uri, { error, error_description: description, state, iss }));
    }
    // Every request writes a flow row: bounded per client address (generously: an office behind one NAT signs in at 9:00).
    if ((await flowBudget.take(addressKey(request.ip ?? null))) > 0) {
      return message(reply, request, env, 429, 'Too many sign-in attempts', 'Too many sign-ins were started from this network; try again in a minute.', 'rate_limited');
    }
    const browserId = binding.browserId(request, reply);
    // The new flow and its first step (the sign-in page, or the code for a browser with a session) in one transaction.
    const result = await tx(env, (em) => nextStep(em, request, env, client!, startFlow(em, { environmentId: env.id, clientId: client!.id, request: check.request, browserId })));
    return answerStep(request, reply, env, client!, result.flow, result.step, result.email, browserId);
  };
  scope.get(`${base}/oauth/authorize`, authorize);
  scope.post(`${base}/oauth/authorize`, authorize);

  // Email first.
  scope.get(`${base}/sign-in`, async (request: FastifyRequest<{ Params: EnvParams; Querystring: { flow?: string; notice?: string } }>, reply) => {
    const env = await environment(request);
    const found = await flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return flowGone(reply, request, env);
    const pending = requestOf(found.flow);
    const notice = Object.hasOwn(SIGN_IN_NOTICES, request.query.notice ?? '') ? SIGN_IN_NOTICES[request.query.notice as SignInNotice] : null;
    return emailPage(reply, env, found.client, found.flow, binding.csrfToken(binding.browserId(request, reply)), pending.loginHint ?? '', notice);
  });

  /** The first page: the email form, and a button for each social connection of the environment. */
  const emailPage = (reply: FastifyReply, env: EnvironmentState, client: ClientState, flow: SignInFlow, csrf: string, email: string, error: string | null, status = 200) => {
    const fresh = asksFreshSignIn(flow);
    const social = env.socialConnections.filter((button) => !fresh || button.provesFreshSignIn).map((button) => ({ name: button.name, href: socialStartPath(env, button.id, flow.id) }));
    return sendPage(
      reply,
      'email',
      { title: 'Sign in', ...brand(env), clientName: client.name, action: paths(env).email, csrf, flow: flow.id, email, error, social },
      { status, redirectTargets: [requestOf(flow).redirectUri] },
    );
  };

  scope.post(`${base}/sign-in/email`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const posted = await postedFlowForm(request, reply);
    if (!posted) return reply;
    const { env, fields, flow, client } = posted;
    const csrf = binding.csrfToken(posted.browserId);
    const email = (field(fields, 'email') ?? '').trim();
    // Home-realm discovery: an address in a domain an organization verified goes to its IdP.
    const connection = email.includes('@') ? await connectionForEmail(environmentEm(deps.orm, env), env.id, email) : null;
    if (connection) return seeOther(reply, ssoStartPath(env, connection, flow.id, email));
    // Its organization requires SSO but has no active connection: no code either.
    if (email.includes('@') && (await ssoRequiredFor(environmentEm(deps.orm, env), env.id, email))) {
      return message(reply, request, env, 403, 'Single sign-on is required', 'Your organization requires you to sign in through its identity provider, which is not available right now. Ask your IT administrator.', 'sso_required');
    }
    // A PRODUCTION environment without a mail server refuses everyone alike (no account is revealed).
    if (!deps.mailer.configured && env.kind === EnvironmentKind.PRODUCTION) {
      return message(reply, request, env, 503, 'Email sign-in is not available', 'This environment cannot send email yet. Ask the application owner to configure a mail server.', 'email_not_configured');
    }
    let started: Awaited<ReturnType<typeof startEmailSignIn>>;
    try {
      started = await tx(env, async (em) => {
        const result = await startEmailSignIn(em, deps.box, env, { email, ip: addressKey(request.ip ?? null), flowId: flow.id });
        // A development environment's message is kept in its outbox with the challenge.
        if (result.mail && !deps.mailer.configured) {
          await deps.mailer.send(env, signInMail(env, result.email, result.mail, linkUrl(env, result.mail.linkToken)), async (kept) => void (await keepInOutbox(em, env.id, kept)));
        }
        return result;
      });
    } catch (error) {
      if (error instanceof AppError && error.kind === 'RATE_LIMITED') return emailPage(reply, env, client, flow, csrf, email, error.message, 429);
      if (error instanceof AppError && error.status === 400) return emailPage(reply, env, client, flow, csrf, email, 'Enter a valid email address.', 422);
      throw error;
    }
    if (started.mail && deps.mailer.configured) {
      // Sent after the response is on its way: the time a mail server takes must not tell an
      // observer whether the address may sign in (then a message is sent) or not (none is).
      const mail = signInMail(env, started.email, started.mail, linkUrl(env, started.mail.linkToken));
      setImmediate(() => {
        deps.mailer.send(env, mail, refuseToKeep).catch((error: unknown) => deps.logger.error({ err: error, environmentId: env.id }, 'could not send a sign-in email'));
      });
    }
    return seeOther(reply, paths(env).codePage(flow.id, started.challengeId));
  });

  const codePage = (reply: FastifyReply, env: EnvironmentState, flow: SignInFlow, csrf: string, challenge: string, email: string, error: string | null, status = 200) =>
    sendPage(
      reply,
      'code',
      { title: 'Check your email', ...brand(env), action: paths(env).code, csrf, flow: flow.id, challenge, email, error, restart: paths(env).signIn(flow.id) },
      { status, redirectTargets: [requestOf(flow).redirectUri] },
    );

  scope.get(`${base}/sign-in/code`, async (request: FastifyRequest<{ Params: EnvParams; Querystring: { flow?: string; challenge?: string } }>, reply) => {
    const env = await environment(request);
    const found = await flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return flowGone(reply, request, env);
    const challenge = request.query.challenge ?? '';
    const pending = await pendingChallenge(environmentEm(deps.orm, env), challenge);
    if (!pending || pending.flowId !== found.flow.id) return flowGone(reply, request, env);
    return codePage(reply, env, found.flow, binding.csrfToken(binding.browserId(request, reply)), challenge, pending.email, null);
  });

  /** Sets the session cookie of a sign-in; it lives as long as the session can. */
  const setSession = (reply: FastifyReply, env: EnvironmentState, result: Extract<SignInResult, { ok: true }>) => binding.setSession(reply, env.id, result.token, env.session.absoluteTtl);
  /**
   * Sets the session cookie of a sign-in and answers the flow's next step: the redirect to the
   * application when `continueAfterSignIn` reached it, else the flow's page, by a redirect (a page
   * gets a URL of its own to reload, not the sign-in's one-time POST or callback).
   */
  const signedIn = (request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, result: Extract<SignInResult, { ok: true }>, flowId: string, next: StepAfterSignIn | null) => {
    setSession(reply, env, result);
    if (next && (next.step.kind === 'done' || next.step.kind === 'error')) {
      return answerStep(request, reply, env, next.client, next.flow, next.step, null, binding.existingBrowserId(request)!);
    }
    return seeOther(reply, paths(env).proceed(flowId));
  };

  scope.post(`${base}/sign-in/code`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const found = await postedFlowForm(request, reply);
    if (!found) return reply;
    const { env, fields, browserId } = found;
    const challengeId = field(fields, 'challenge') ?? '';
    const previousSessionToken = binding.sessionToken(request, env.id);
    const { result, next } = await tx(env, async (em) => {
      const flow = adoptFlow(em, found.flow);
      const result = await signInWithCode(em, deps.box, env, { challengeId, code: field(fields, 'code') ?? '', flowId: flow.id, meta: deps.requestMeta(request), previousSessionToken });
      return { result, next: await continueAfterSignIn(em, env, found.client, flow, result) };
    });
    if (result.ok) return signedIn(request, reply, env, result, found.flow.id, next);
    const csrf = binding.csrfToken(browserId);
    if (result.reason === 'wrong_code') return codePage(reply, env, found.flow, csrf, challengeId, '', 'That code is not right. Check the latest email and try again.', 422);
    const why: Record<string, string> = {
      too_many_attempts: 'Too many wrong codes. Ask for a new one.',
      expired: 'That code has expired. Ask for a new one.',
      used: 'That code was already used. Ask for a new one.',
      unknown: 'That code is not valid here. Ask for a new one.',
      sign_up_closed: 'This email address cannot sign in here.',
      user_suspended: 'This account cannot sign in.',
      user_deprovisioned: 'This account cannot sign in.',
      sso_required: 'Your organization requires you to sign in through its identity provider: enter your email address again to go there.',
    };
    return emailPage(reply, env, found.client, found.flow, csrf, '', why[result.reason] ?? why.unknown, 422);
  });


  // Magic links: a GET only shows a button (mail scanners fetch links), the POST signs in.
  scope.get(`${base}/sign-in/link`, async (request: FastifyRequest<{ Params: EnvParams; Querystring: { token?: string } }>, reply) => {
    const env = await environment(request);
    const browserId = binding.browserId(request, reply);
    const token = request.query.token ?? '';
    // The page's form leads, through redirects, back to the application of the link's flow.
    const challenge = await challengeOfLink(environmentEm(deps.orm, env), token);
    const found = challenge?.flowId ? await flowAndClient(env, challenge.flowId, browserId) : null;
    return sendPage(
      reply,
      'link',
      { title: 'Finish signing in', ...brand(env), action: paths(env).link, csrf: binding.csrfToken(browserId), token },
      { redirectTargets: found ? [requestOf(found.flow).redirectUri] : [] },
    );
  });

  scope.post(`${base}/sign-in/link`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const posted = await postedForm(request, reply);
    if (!posted) return reply;
    const { env, fields, browserId } = posted;
    const token = field(fields, 'token') ?? '';
    // The link works only in the browser whose flow asked for it: a link forwarded to, or
    // planted in, another browser signs nobody in there.
    const challenge = await challengeOfLink(environmentEm(deps.orm, env), token);
    const found = challenge?.flowId ? await flowAndClient(env, challenge.flowId, browserId) : null;
    if (!challenge || !found) {
      return message(reply, request, env, 400, 'This link cannot be used here', 'Open the link in the browser where you started signing in, or type the code from the email there.', 'link_not_usable');
    }
    const previousSessionToken = binding.sessionToken(request, env.id);
    const { result, next } = await tx(env, async (em) => {
      const flow = adoptFlow(em, found.flow);
      const result = await signInWithLink(em, env, { token, meta: deps.requestMeta(request), previousSessionToken });
      return { result, next: await continueAfterSignIn(em, env, found.client, flow, result) };
    });
    if (!result.ok) {
      return message(reply, request, env, 400, 'This link cannot be used', 'It has expired or was already used. Go back to the application and sign in again.', result.reason);
    }
    return signedIn(request, reply, env, result, found.flow.id, next);
  });

  scope.get(`${base}/sign-in/continue`, async (request: FastifyRequest<{ Params: EnvParams; Querystring: { flow?: string } }>, reply) => {
    const env = await environment(request);
    return proceed(request, reply, env, request.query.flow ?? '');
  });

  scope.post(`${base}/sign-in/organization`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const posted = await postedForm(request, reply);
    if (!posted) return reply;
    const { env, fields, browserId } = posted;
    const flowId = field(fields, 'flow') ?? '';
    const chosen = await tx(env, async (em) => {
      const flow = await openFlow(em, flowId, browserId);
      const session = flow && (await resumeSession(em, binding.sessionToken(request, env.id), env.id, env.session));
      if (!flow || !session) return false;
      return chooseOrganization(em, flow, session, field(fields, 'organization_id') ?? '');
    });
    if (!chosen) return message(reply, request, env, 400, 'This organization cannot be used', 'Choose one of the organizations you belong to.', 'organization_not_allowed');
    return proceed(request, reply, env, flowId);
  });

  scope.post(`${base}/sign-in/consent`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const found = await postedFlowForm(request, reply);
    if (!found) return reply;
    const { env, fields, browserId } = found;
    const flowId = found.flow.id;
    const allow = field(fields, 'decision') === 'allow';
    const decided = await tx(env, async (em) => {
      const flow = await openFlow(em, flowId, browserId);
      const session = flow && (await resumeSession(em, binding.sessionToken(request, env.id), env.id, env.session));
      if (!flow || !session) return null;
      if (allow) await grantConsent(em, env, found.client, flow, session, deps.requestMeta(request));
      else flow.completedAt = new Date();
      await em.flush();
      return flow;
    });
    if (!decided) return flowGone(reply, request, env);
    if (!allow) {
      const pending = requestOf(decided);
      return seeOther(reply, responseUri(pending.redirectUri, { error: 'access_denied', error_description: 'The user denied the request', state: pending.state, iss: env.issuer }));
    }
    return proceed(request, reply, env, flowId);
  });

  /**
   * The application learns that the person could not sign in: the flow ends and the browser goes
   * to the flow's redirect URI (registered, matched exactly when the flow began) with
   * `error=access_denied`. Only from this browser's own flow (cookie and CSRF token), and never to
   * a self-registered client, whose redirect URI is anyone's.
   */
  scope.post(`${base}/sign-in/abandon`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
    const found = await postedFlowForm(request, reply);
    if (!found) return reply;
    const { env, client, browserId } = found;
    if (client.applicationType === ApplicationType.DYNAMIC) return flowGone(reply, request, env);
    const ended = await tx(env, async (em) => {
      const flow = await openFlow(em, found.flow.id, browserId);
      if (!flow) return null;
      flow.completedAt = new Date();
      await em.flush();
      return flow;
    });
    if (!ended) return flowGone(reply, request, env);
    const pending = requestOf(ended);
    return seeOther(reply, responseUri(pending.redirectUri, { error: 'access_denied', error_description: 'The user could not sign in', state: pending.state, iss: env.issuer }));
  });

  /**
   * A sign-in refused within a flow: the reason page, with a button back to the application
   * (which then gets `error=access_denied`) when the flow is this browser's and the redirect is safe.
   */
  const refused = async (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, flowId: string | null, page: { status: number; title: string; text: string; reason: string }) => {
    const found = flowId ? await flowAndClient(env, flowId, binding.existingBrowserId(request)) : null;
    if (!found || found.client.applicationType === ApplicationType.DYNAMIC) return message(reply, request, env, page.status, page.title, page.text, page.reason);
    return sendPage(
      reply,
      'message',
      {
        title: page.title,
        ...brand(env),
        message: page.text,
        reason: page.reason,
        requestId: request.id,
        csrf: binding.csrfToken(binding.existingBrowserId(request)!),
        form: { action: paths(env).abandon, fields: { flow: found.flow.id }, label: `Back to ${found.client.name}` },
      },
      { status: page.status, redirectTargets: [requestOf(found.flow).redirectUri] },
    );
  };

  return {
    tx,
    refused,
    emOf: (env: EnvironmentState) => environmentEm(deps.orm, env),
    flowAndClient,
    flowGone,
    setSession,
    adoptFlow,
    continueAfterSignIn,
    signedIn,
    signInPath: (env: EnvironmentState, flowId: string, notice?: SignInNotice) => paths(env).signIn(flowId, notice),
  };
}

/** Where a flow stands right after a sign-in, in the sign-in's transaction. */
export interface StepAfterSignIn {
  client: ClientState;
  flow: SignInFlow;
  step: FlowStep;
}

/** What other hosted pages (SSO) share with the sign-in pages. */
export interface SignInKit {
  tx<T>(env: EnvironmentState, work: (em: EntityManager) => Promise<T>): Promise<T>;
  /** The environment's EntityManager, for a read outside a transaction. */
  emOf(env: EnvironmentState): EntityManager;
  /** The flow of this browser, with its enabled application; null otherwise. */
  flowAndClient(env: EnvironmentState, flowId: string | undefined, browserId: string | undefined): Promise<{ flow: SignInFlow; client: ClientState } | null>;
  flowGone(reply: FastifyReply, request: FastifyRequest, env: EnvironmentState): Promise<FastifyReply> | FastifyReply;
  /** Sets the session cookie of a sign-in, without a flow to go on with. */
  setSession(reply: FastifyReply, env: EnvironmentState, result: Extract<SignInResult, { ok: true }>): void;
  /** In a sign-in's transaction, once it succeeded: the flow's next step with the new session. */
  /** The flow a request read before its transaction, managed by the transaction (see `adoptFlow`); take it first, so that the sign-in's changes to it land on it. */
  adoptFlow(em: EntityManager, flow: SignInFlow): SignInFlow;
  continueAfterSignIn(em: EntityManager, env: EnvironmentState, client: ClientState, flow: SignInFlow, result: SignInResult): Promise<StepAfterSignIn | null>;
  /** Sets the session cookie of a sign-in and answers the step `continueAfterSignIn` reached (the redirect to the application, or to the flow's next page). */
  signedIn(request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, result: Extract<SignInResult, { ok: true }>, flowId: string, next: StepAfterSignIn | null): Promise<FastifyReply> | FastifyReply;
  /** A refusal page within a flow, with a way back to the application (`error=access_denied`) where that is safe. */
  refused(reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, flowId: string | null, page: { status: number; title: string; text: string; reason: string }): Promise<FastifyReply>;
  /** The email page of the flow, with one of the fixed notices. */
  signInPath(env: EnvironmentState, flowId: string, notice?: SignInNotice): string;
}

/** Whether the application asked for a sign-in now (`prompt=login`) or recent enough (`max_age`). */
export const asksFreshSignIn = (flow: SignInFlow): boolean => {
  const pending = requestOf(flow);
  return pending.prompt.includes('login') || pending.maxAge !== null;
};

/** Where a social connection's button leads. */
export const socialStartPath = (env: EnvironmentState, connectionId: string, flowId: string): string => `/e/${env.id}/social/${connectionId}/start?flow=${flowId}`;

const refuseToKeep = (): Promise<void> => Promise.reject(new Error('a configured mailer sends; it keeps nothing'));

function linkUrl(env: EnvironmentState, token: string): string {
  return `${env.issuer}/sign-in/link?token=${encodeURIComponent(token)}`;
}

function signInMail(env: EnvironmentState, to: string, secret: { code: string }, link: string): OutgoingMail {
  return {
    to,
    subject: `Your sign-in code for ${env.name}: ${secret.code}`,
    text:
      `Your sign-in code is ${secret.code}\n\n` +
      `Or sign in with this link, in the browser where you asked for it:\n${link}\n\n` +
      `The code and the link work once, for 10 minutes. If you did not try to sign in, ignore this message.\n`,
    purpose: 'sign_in_code',
  };
}

/** An API scope in words: its description from the resource server that declares it, else its name. */
function describeApiScope(env: EnvironmentState, resources: readonly string[], scope: string): string {
  const servers = resources.length ? resources.map((identifier) => env.resourceServers.get(identifier)) : [...env.resourceServers.values()];
  for (const server of servers) {
    const declared = server?.scopes.find((candidate) => candidate.name === scope);
    if (declared?.description) return `${declared.description} (${scope})`;
  }
  return scope;
}
