import type { EntityManager } from '@mikro-orm/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SsoConnectionStatus, SsoConnectionType, type SsoConnection } from '../../modules/connection/connection.entity.js';
import { type SamlAnswer, acceptIdpInitiated, answerSamlRequest, answerSamlRequestAtOnce, recordSsoFailure, samlConnectionForSignIn, startSamlSignIn, takeSamlIdentity, validateForConnection } from '../../modules/connection/saml-sign-in.service.js';
import { decryptionKeysOf } from '../../modules/connection/sp-key.service.js';
import { failTrace, openTrace, stepOf, succeedTrace, traceOf, tracedSamlResponse, traceStep, type TraceSettings } from '../../modules/connection/sso-trace.service.js';
import { requestOf, signInThroughConnection, type SignInResult } from '../../modules/sign-in/sign-in.service.js';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { retryOnUniqueViolation } from '../../db/db-errors.js';
import { RateBudget } from '../../auth/rate-budget.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import type { SamlRequest } from '../../modules/connection/saml-request.entity.js';
import type { SamlSuccess } from '../../modules/connection/saml/saml-validation.types.js';
import { field, message, seeOther, type Fields } from './page-kit.js';
import type { SignInDeps, SignInKit, StepAfterSignIn } from './sign-in.routes.js';

type EnvParams = { env: string };
type ConnectionParams = EnvParams & { id: string };
/** A SAML response with a few certificates and attributes is tens of kilobytes; the validator caps the XML at 256 KiB. */
const ACS_BODY_LIMIT = 400 * 1024;
/** ACS posts per client address and minute: each costs an XML parse and signature checks, and a refusal an audit event. */
const ACS_POSTS_PER_ADDRESS_PER_MINUTE = 120;
/**
 * Refusals decided before the IdP's signature was verified: their details are the sender's
 * text, so the audit event keeps only the reason code.
 */
const UNVERIFIED_REFUSALS = new Set(['malformed', 'too_large', 'doctype', 'not_one_assertion', 'encrypted_not_supported', 'status', 'unsigned', 'bad_signature', 'weak_algorithm', 'unsupported_algorithm', 'weak_encryption', 'decryption_failed']);

/** Where a flow goes to sign in through a connection; `loginHint` is the address typed, for the IdP's sign-in form. */
export const ssoStartPath = (env: Pick<EnvironmentState, 'id'>, connection: Pick<SsoConnection, 'id' | 'type'>, flowId: string, loginHint?: string) =>
  `/e/${env.id}/sso/${connection.type === SsoConnectionType.OIDC ? 'oidc' : 'saml'}/${connection.id}/start?flow=${flowId}${loginHint ? `&login_hint=${encodeURIComponent(loginHint)}` : ''}`;
const continuePath = (env: Pick<EnvironmentState, 'id'>, requestId: string, flowId: string, answerToken: string) =>
  `/e/${env.id}/sso/saml/continue?request=${requestId}&flow=${flowId}&answer=${encodeURIComponent(answerToken)}`;

/** What the ACS made of a post. */
type AcsOutcome =
  | { kind: 'answered'; request: SamlRequest; answerToken: string }
  | { kind: 'idp_initiated'; result: SignInResult; initiateLoginUri: string }
  | { kind: 'refused'; reason: string };

const usable = (connection: SsoConnection | null): connection is SsoConnection =>
  connection !== null && connection.status === SsoConnectionStatus.ACTIVE && connection.idpSsoUrl !== null && connection.idpEntityId !== null && connection.idpCertificates.length > 0;

/**
 * SP-initiated SAML sign-in as a step of the hosted sign-in flow: `start` sends the browser to
 * the organization's IdP with an AuthnRequest; the IdP posts its answer to the ACS, a
 * cross-site POST without cookies, matched by InResponseTo to the pending request; `continue`
 * then signs in the browser whose flow it is (Lax cookies come with a top-level GET) and moves
 * the flow on like any other way of authenticating.
 */
export function registerSsoRoutes(
  scope: FastifyInstance,
  deps: SignInDeps,
  environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>,
  kit: SignInKit,
  parseFields: (body: string) => Fields,
): void {
  const { binding } = deps;
  const base = '/e/:env/sso/saml';
  const acsBudget = new RateBudget(ACS_POSTS_PER_ADDRESS_PER_MINUTE);

  scope.get(`${base}/:id/start`, async (request: FastifyRequest<{ Params: ConnectionParams; Querystring: { flow?: string } }>, reply) => {
    const env = await environment(request);
    const found = await kit.flowAndClient(env, request.query.flow, binding.existingBrowserId(request));
    if (!found) return kit.flowGone(reply, request, env);
    // No transaction: the connection, its SP keys and the flow's pending requests are one read,
    // the request and its trace one write.
    const em = kit.emOf(env);
    const now = new Date();
    const loaded = await samlConnectionForSignIn(em, request.params.id, { flowId: found.flow.id, now });
    const connection = loaded?.connection ?? null;
    const pending = requestOf(found.flow);
    const forceAuthn = pending.prompt.includes('login') || pending.maxAge !== null;
    const started = usable(connection) ? { redirect: await startSamlSignIn(em, env, connection, { id: found.flow.id, forceAuthn }, traceSettings(deps, request), deps.box, now, loaded!) } : null;
    if (!started) return unavailable(reply, request, env);
    if (!started.redirect) return message(reply, request, env, 429, 'Too many sign-in attempts', 'Go back to the application and sign in again.', 'rate_limited');
    return seeOther(reply, started.redirect);
  });

  // The ACS: its own body limit, for a form far larger than the pages' own.
  void scope.register(async (acs) => {
    acs.removeContentTypeParser('application/x-www-form-urlencoded');
    acs.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: ACS_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, parseFields(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    acs.post(`${base}/:id/acs`, async (request: FastifyRequest<{ Params: ConnectionParams }>, reply) => {
      const env = await environment(request);
      if ((await acsBudget.take(addressKey(request.ip ?? null))) > 0) {
        return message(reply, request, env, 429, 'Too many sign-in attempts', 'Too many sign-ins came from this network; try again in a minute.', 'rate_limited');
      }
      const samlResponse = field(request.body as Fields | undefined, 'SAMLResponse');
      // The connection with its SP keys: one statement.
      const outside = kit.emOf(env);
      const loaded = await samlConnectionForSignIn(outside, request.params.id);
      const connection = loaded?.connection ?? null;
      if (!usable(connection)) return unavailable(reply, request, env);
      // Validated, and its assertion id claimed against replay (shared by every process), before
      // the transaction: on the embedded database one connection serves both.
      const decryptionKeys = decryptionKeysOf(loaded!.spKeys, deps.box);
      const validated = samlResponse ? await validateForConnection(env, connection, samlResponse, decryptionKeys) : ({ ok: false, reason: 'malformed', detail: 'No SAMLResponse' } as const);
      const firstUse = validated.ok ? await deps.replayGuard.claim(connection.id, validated.assertionId, validated.rememberUntil) : false;
      const requestId = deps.requestMeta(request).requestId;
      const meta = deps.requestMeta(request);
      const profileOf = (success: SamlSuccess) => ({ nameId: success.nameId, nameIdFormat: success.nameIdFormat, issuer: success.issuer, sessionIndex: success.sessionIndex, attributes: success.attributes });
      const validatedStep = (success: SamlSuccess) => `Assertion ${success.assertionId} from ${success.issuer}, for ${success.nameId}`;
      if (validated.ok && validated.inResponseTo) {
        // The common case in one statement: the request answered, its trace told so.
        const now = new Date();
        const answered = await answerSamlRequestAtOnce(
          outside,
          connection,
          validated,
          firstUse,
          loaded!.verifiedDomains,
          {
            requestId,
            samlResponse: tracedSamlResponse(samlResponse, true),
            profile: profileOf(validated),
            steps: [stepOf('response_validated', true, validatedStep(validated), now), stepOf('request_matched', true, `InResponseTo ${validated.inResponseTo}`, now)],
          },
          now,
        );
        if (answered) return seeOther(reply, continuePath(env, answered.request.id, answered.request.flowId, answered.answerToken));
      }
      // Anything else in a transaction, under the request's lock: it finds out what, and records it.
      const outcome = await kit.tx(env, async (em): Promise<AcsOutcome> => {
        const unsolicited = validated.ok && !validated.inResponseTo && connection.allowIdpInitiated ? await acceptIdpInitiated(em, connection, validated, firstUse) : null;
        const answer: SamlAnswer | null = unsolicited?.ok ? null : (unsolicited ?? (validated.ok ? await answerSamlRequest(em, connection, validated, firstUse) : validated));
        // The attempt's trace: the one its request opened, else (no request matched) a new one.
        const trace = (answer?.request ? await traceOf(em, answer.request.traceId) : null) ?? openTrace(em, connection, traceSettings(deps, request));
        trace.samlResponse = tracedSamlResponse(samlResponse, validated.ok);
        if (validated.ok) {
          trace.profile = profileOf(validated);
          traceStep(trace, requestId, 'response_validated', true, validatedStep(validated));
        }
        if (unsolicited?.ok) {
          // IdP-initiated: signed in here, then the application starts a sign-in of its own.
          traceStep(trace, requestId, 'idp_initiated', true, `Unsolicited response accepted for ${unsolicited.identity.email}`);
          const result = await signInThroughConnection(em, env, { connection, identity: unsolicited.identity, flowId: null, meta });
          await traceSignIn(em, trace.id, requestId, result);
          if (result.ok) traceStep(trace, requestId, 'handed_to_application', true, `Sent to ${unsolicited.initiateLoginUri} to start a sign-in`);
          await em.flush();
          return { kind: 'idp_initiated', result, initiateLoginUri: unsolicited.initiateLoginUri };
        }
        const matched = answer!;
        if (matched.ok) {
          traceStep(trace, requestId, 'request_matched', true, `InResponseTo ${matched.request.requestId}`);
          await em.flush();
          return { kind: 'answered', request: matched.request, answerToken: matched.answerToken };
        }
        failTrace(trace, requestId, matched);
        recordSsoFailure(em, env, connection, UNVERIFIED_REFUSALS.has(matched.reason) ? { reason: matched.reason, detail: null } : matched, meta);
        await em.flush();
        return { kind: 'refused', reason: matched.reason };
      });
      if (outcome.kind === 'refused') return ssoFailed(reply, request, env, kit, null, outcome.reason);
      if (outcome.kind === 'idp_initiated') {
        const { result } = outcome;
        if (!result.ok) return ssoSignedIn(reply, request, env, kit, result, null, null);
        kit.setSession(reply, env, result);
        // OpenID Connect Core §4: the application is told which issuer to sign in with, and who.
        const start = new URL(outcome.initiateLoginUri);
        start.searchParams.set('iss', env.issuer);
        start.searchParams.set('login_hint', result.user.email);
        return seeOther(reply, start.toString());
      }
      return seeOther(reply, continuePath(env, outcome.request.id, outcome.request.flowId, outcome.answerToken));
    });
  });

  scope.get(`${base}/continue`, async (request: FastifyRequest<{ Params: EnvParams; Querystring: { request?: string; flow?: string; answer?: string } }>, reply) => {
    const env = await environment(request);
    const browserId = binding.existingBrowserId(request);
    // Only a browser that started the flow (its cookie) and brought the IdP's answer (the
    // ACS's one-time token) may use it: a response posted into another browser, or an
    // AuthnRequest forwarded to another person, signs nobody in.
    const found = await kit.flowAndClient(env, request.query.flow, browserId);
    if (!found) return kit.flowGone(reply, request, env);
    const previousSessionToken = binding.sessionToken(request, env.id);
    // Retried once should a concurrent first sign-in of the same person create them meanwhile.
    const result = await retryOnUniqueViolation(() => kit.tx(env, async (em) => {
      const flow = kit.adoptFlow(em, found.flow);
      const taken = await takeSamlIdentity(em, { requestId: request.query.request ?? '', flowId: flow.id, answerToken: request.query.answer ?? '' });
      if (!taken) return null;
      const { identity, connection } = taken;
      const signedIn = await signInThroughConnection(em, env, { connection, identity, flowId: flow.id, meta: deps.requestMeta(request), previousSessionToken });
      await traceSignIn(em, taken.traceId, deps.requestMeta(request).requestId, signedIn);
      return { signedIn, next: await kit.continueAfterSignIn(em, env, found.client, flow, signedIn) };
    }));
    if (!result) return kit.flowGone(reply, request, env);
    return ssoSignedIn(reply, request, env, kit, result.signedIn, found.flow.id, result.next);
  });
}

/** How this request records sign-in traces. */
export const traceSettings = (deps: SignInDeps, request: FastifyRequest): TraceSettings => ({
  requestId: deps.requestMeta(request).requestId,
  retentionMs: deps.config.ssoTraceRetentionDays * 24 * 60 * 60_000,
});

/** The outcome of a sign-in through a connection, on its trace. */
export async function traceSignIn(em: EntityManager, traceId: string | null, requestId: string, result: SignInResult): Promise<void> {
  const trace = await traceOf(em, traceId);
  if (result.ok) succeedTrace(trace, requestId, { userId: result.user.id, email: result.user.email });
  else failTrace(trace, requestId, { reason: result.reason, detail: 'Gatehouse refused the person the IdP vouched for' });
  await em.flush();
}

export const unavailable = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState) =>
  message(reply, request, env, 400, 'Single sign-on is not available', 'Your organization\'s sign-in is not set up or is switched off. Ask your IT administrator.', 'connection_unavailable');

/** The error page of a refused IdP answer: the reason code and request id for the IT administrator. */
/**
 * A refused SSO sign-in: the reason page, with a way back to the application (`error=access_denied`)
 * when the browser holds the flow. The ACS, a cross-site POST without cookies, never can.
 */
export const ssoFailed = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, kit: SignInKit, flowId: string | null, reason: string) =>
  kit.refused(reply, request, env, flowId, {
    status: 400,
    title: 'Single sign-on failed',
    text: 'Your organization\'s identity provider sent an answer Gatehouse cannot accept. Try again from the application; if it keeps failing, give the reason and request id below to your IT administrator.',
    reason: `sso.${reason}`,
  });

/** The end of a sign-in through a connection: the session cookie and on with the flow, or the refusal page. */
export function ssoSignedIn(reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, kit: SignInKit, result: SignInResult, flowId: string | null, next: StepAfterSignIn | null) {
  if (!result.ok || flowId === null) {
    return kit.refused(reply, request, env, flowId, { status: 403, title: 'You cannot sign in', text: 'Your account cannot sign in to this application. Ask your IT administrator.', reason: result.ok ? 'no_flow' : result.reason });
  }
  return kit.signedIn(request, reply, env, result, flowId, next);
}
