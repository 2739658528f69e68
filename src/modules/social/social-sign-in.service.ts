import type { EntityManager } from '@mikro-orm/core';
import * as client from 'openid-client';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { isIdOf, newInternalId } from '../../db/id.js';
import { OidcRequestRepository } from '../connection/connection.repository.js';
import { socialRedirectUri } from '../connection/connection.urls.js';
import { MAX_PENDING_REQUESTS_PER_FLOW } from '../connection/saml-sign-in.service.js';
import { OIDC_REQUEST_TTL_MS, useOidcRequest } from '../connection/oidc-sign-in.service.js';
import type { OidcRequest } from '../connection/oidc-request.entity.js';
import type { OidcFailure, OidcRelyingParty } from '../connection/oidc/relying-party.js';
import { OrganizationDomainRepository } from '../organization/organization.repository.js';
import { refuse, signIn, type SignInEnvironment, type SignInResult } from '../sign-in/sign-in.service.js';
import { UserRepository } from '../user/user.repository.js';
import { SocialProvider, type SocialConnection } from './social-connection.entity.js';
import { SocialConnectionRepository, SocialIdentityLinkRepository } from './social-connection.repository.js';
import { providerIdentity, socialSecretBinding } from './social-connection.service.js';
import { effectiveSettings, missingSetting } from './social-presets.js';
import { profileFromClaims, profileFromGitHub, type SocialProfile } from './social-profile.js';

/** Whether a social connection signs anyone in: enabled and complete. */
export const socialReady = (connection: SocialConnection): boolean => connection.enabled && missingSetting(connection) === null;

/**
 * Whether the connection can sign someone in for a flow that asks for a fresh sign-in
 * (`prompt=login` or `max_age`): an OpenID Provider is asked for one and says when it happened
 * (`auth_time`); a plain OAuth 2.0 server (GitHub) says nothing of it, so its session of last
 * week would pass for a sign-in now.
 */
export const provesFreshSignIn = (connection: SocialConnection): boolean => effectiveSettings(connection).protocol === 'oidc';

/** A button of the sign-in page. */
export interface SocialButton {
  id: string;
  name: string;
  provider: SocialProvider;
  /** See `provesFreshSignIn`: whether it is offered when the application asks for a fresh sign-in. */
  provesFreshSignIn: boolean;
}

/** The buttons of an environment's sign-in page (kept in the OAuth cache of each process, dropped on any change). */
export async function socialButtonsOf(em: EntityManager, environmentId: string): Promise<SocialButton[]> {
  const connections = await new SocialConnectionRepository(em).enabledOf(environmentId);
  return connections
    .filter(socialReady)
    .map((connection) => ({ id: connection.id, name: connection.name, provider: connection.provider, provesFreshSignIn: provesFreshSignIn(connection) }));
}

/** The environment's social connection of this id, ready to sign in; null otherwise. */
export async function findSocialConnection(em: EntityManager, id: string): Promise<SocialConnection | null> {
  if (!isIdOf('socialConnection', id)) return null;
  const connection = await new SocialConnectionRepository(em).find(id);
  return connection && socialReady(connection) ? connection : null;
}

/**
 * How to speak to the connection's provider: discovered (OpenID Connect, through the relying
 * party's cache) or built from its endpoints (OAuth 2.0). A network call for the first; run
 * outside any transaction.
 */
export async function socialProviderOf(rp: OidcRelyingParty, box: SecretBox, connection: SocialConnection): Promise<client.Configuration | OidcFailure> {
  const secret = box.open(connection.clientSecretSealed, socialSecretBinding(connection.id));
  const settings = effectiveSettings(connection);
  if (settings.protocol === 'oidc') {
    // Microsoft's button means any work, school or personal account: `/common`'s issuer template, filled from each ID token's tenant.
    const multiTenantIssuer = connection.provider === SocialProvider.MICROSOFT;
    return rp.configuration({ id: connection.id, updatedAt: connection.updatedAt, oidcIssuer: settings.issuer!, oidcClientId: connection.clientId, oidcScopes: settings.scopes }, secret, { multiTenantIssuer });
  }
  return rp.oauth2Configuration({ authorizationUrl: settings.authorizationUrl!, tokenUrl: settings.tokenUrl!, userinfoUrl: settings.userinfoUrl! }, connection.clientId, secret);
}

/**
 * Starts sign-in at the provider: a pending request kept for the flow (state hashed, nonce,
 * PKCE verifier) and the URL the browser goes to. Null past MAX_PENDING_REQUESTS_PER_FLOW.
 * Run in a transaction, after `socialProviderOf`.
 */
export async function startSocialSignIn(
  em: EntityManager,
  env: { id: string; issuer: string },
  rp: OidcRelyingParty,
  config: client.Configuration,
  connection: SocialConnection,
  flow: { id: string; forceAuthn: boolean; maxAge: number | null; loginHint: string | null },
  now = new Date(),
): Promise<URL | null> {
  const requests = new OidcRequestRepository(em);
  if ((await requests.pendingOfFlow(flow.id, now)) >= MAX_PENDING_REQUESTS_PER_FLOW) return null;
  const settings = effectiveSettings(connection);
  const oidc = settings.protocol === 'oidc';
  const state = randomToken();
  const nonce = randomToken();
  const codeVerifier = client.randomPKCECodeVerifier();
  requests.create({
    id: newInternalId('oidcRequest'),
    environmentId: env.id,
    socialConnectionId: connection.id,
    flowId: flow.id,
    stateHash: hashSecret(state),
    nonce,
    codeVerifier,
    // A plain OAuth 2.0 server says nothing of when the person authenticated: nothing to hold it to.
    maxAge: oidc ? flow.maxAge : null,
    forceAuthn: oidc && flow.forceAuthn,
    expiresAt: new Date(now.getTime() + OIDC_REQUEST_TTL_MS),
  });
  await em.flush();
  const redirectUri = socialRedirectUri(env.issuer);
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  if (!oidc) return rp.oauth2AuthorizationUrl(config, { redirectUri, scopes: settings.scopes, state, codeChallenge, loginHint: flow.loginHint });
  return rp.authorizationUrl(config, { oidcScopes: settings.scopes }, { redirectUri, state, nonce, codeChallenge, forceAuthn: flow.forceAuthn, maxAge: flow.maxAge, loginHint: flow.loginHint });
}

/**
 * Uses the pending request a callback names, once, in time, for the flow the browser holds,
 * with its connection still ready. Null when the state names no social request of this flow.
 * Run in a transaction.
 */
export async function takeSocialRequest(
  em: EntityManager,
  input: { state: string; flowId: string },
  now = new Date(),
): Promise<{ request: OidcRequest; connection: SocialConnection } | { reason: string; detail: string } | null> {
  const request = await useOidcRequest(em, { ...input, sentFor: 'socialConnectionId' }, now);
  if (!request || 'reason' in request) return request;
  const connection = await findSocialConnection(em, request.socialConnectionId!);
  if (!connection) return { reason: 'connection_unavailable', detail: 'The connection is switched off or incomplete' };
  return { request, connection };
}

/**
 * The provider's answer at the callback, checked (state, PKCE, and for OpenID Connect the ID
 * token and nonce), and the person it names. A network exchange: run outside any transaction.
 */
export async function completeSocialSignIn(
  rp: OidcRelyingParty,
  config: client.Configuration,
  connection: SocialConnection,
  callbackUrl: URL,
  used: OidcRequest,
  state: string,
): Promise<{ ok: true; profile: SocialProfile } | OidcFailure | { ok: false; reason: 'profile_invalid'; detail: string }> {
  const settings = effectiveSettings(connection);
  let profile: SocialProfile | null;
  if (settings.protocol === 'oidc') {
    const completed = await rp.complete(config, callbackUrl, {
      state,
      nonce: used.nonce,
      codeVerifier: used.codeVerifier,
      maxAge: used.maxAge,
      freshSince: used.forceAuthn ? used.createdAt : null,
    });
    if (!completed.ok) return completed;
    profile = profileFromClaims(connection.provider, completed.claims);
  } else {
    const github = connection.provider === SocialProvider.GITHUB;
    const urls = github ? [settings.userinfoUrl!, `${settings.userinfoUrl!.replace(/\/$/, '')}/emails`] : [settings.userinfoUrl!];
    const completed = await rp.completeOAuth2(config, callbackUrl, { state, codeVerifier: used.codeVerifier }, urls);
    if (!completed.ok) return completed;
    const [user, emails] = completed.documents;
    profile = github ? profileFromGitHub(user, emails) : typeof user === 'object' && user !== null ? profileFromClaims(connection.provider, user as Record<string, unknown>) : null;
  }
  return profile ? { ok: true, profile } : { ok: false, reason: 'profile_invalid', detail: 'The provider\'s answer named no account id' };
}

/**
 * Whether the connection a code was just exchanged through still signs people in, at the same
 * provider: an update that switched it off or pointed it elsewhere (forgetting its links) while
 * the exchange ran must not be undone by a link made from the old provider's answer. Read with a
 * share lock, which an update (a locking write) waits for until the sign-in is written.
 * Run in the sign-in's transaction.
 */
export async function socialConnectionUnchanged(em: EntityManager, connection: SocialConnection): Promise<boolean> {
  const current = await new SocialConnectionRepository(em).readLocked(connection.id);
  return current !== null && socialReady(current) && providerIdentity(current) === providerIdentity(connection);
}

/**
 * A person a social provider vouched for, signed in (run in a transaction):
 * - found by the connection's link to their provider account, else by the address, which the
 *   provider must have verified (it then proves the address as a code sent to it would: an
 *   existing account of that address is theirs, and one made now when sign-up is open);
 * - refused when the address belongs to an organization that requires SSO;
 * - a linked person keeps their Gatehouse address and names: a social account is one way in,
 *   not the source of their profile.
 */
export async function signInWithSocial(
  em: EntityManager,
  env: SignInEnvironment,
  input: { connection: SocialConnection; profile: SocialProfile; flowId: string; meta: RequestMeta; previousSessionToken?: string },
  now = new Date(),
): Promise<SignInResult> {
  const { connection, profile } = input;
  const links = new SocialIdentityLinkRepository(em);
  const link = await links.of(connection.id, profile.subject);
  const linked = link ? await new UserRepository(em).find(link.userId) : null;
  const refusal = { email: linked?.email ?? profile.email ?? '', flowId: input.flowId, meta: input.meta };
  if (!linked && (!profile.email || !profile.emailVerified)) return refuse(em, env, refusal, 'email_not_verified', null);
  const email = linked?.email ?? profile.email!;
  if (await new OrganizationDomainRepository(em).ssoRequiredFor(env.id, email)) return refuse(em, env, refusal, 'sso_required', linked);
  const result = await signIn(
    em,
    env,
    {
      email,
      // The provider proves the address only when it is the one it verified.
      emailVerified: profile.emailVerified && profile.email === email,
      amr: ['social'],
      flowId: input.flowId,
      meta: input.meta,
      previousSessionToken: input.previousSessionToken,
      givenName: profile.givenName,
      familyName: profile.familyName,
      ...(linked ? { userId: linked.id } : {}),
    },
    now,
  );
  if (!result.ok) return result;
  const kept = link ?? links.create({ id: newInternalId('socialIdentity'), environmentId: env.id, connectionId: connection.id, subject: profile.subject, userId: result.user.id });
  kept.profile = profile.raw;
  kept.lastSignedInAt = now;
  await em.flush();
  return result;
}
