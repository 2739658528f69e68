import { createLocalJWKSet, type CryptoKey, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { SecretBox } from '../../crypto/at-rest.js';
import { importPublicKey, openPrivateKeyObject, type SigningAlgorithm } from '../../crypto/signing-keys.js';
import type { NotificationHandler, Unlisten } from '../../db/notifications.js';
import type { ClientRegistrationPolicy, EnvironmentKind, SignUpPolicy } from '../../modules/environment/environment.entity.js';
import { EnvironmentRepository } from '../../modules/environment/environment.repository.js';
import { ApplicationType, type ClientKind, type TokenEndpointAuthMethod } from '../../modules/oauth-client/oauth-client.entity.js';
import { isInteractive, isPublicClient } from '../../modules/oauth-client/application-settings.js';
import { ClientSecretRepository, OAuthClientRepository } from '../../modules/oauth-client/oauth-client.repository.js';
import type { ResourceServer } from '../../modules/resource-server/resource-server.entity.js';
import { ResourceServerRepository } from '../../modules/resource-server/resource-server.repository.js';
import { SigningKeyRepository } from '../../modules/signing-key/signing-key.repository.js';
import { currentSigner, ensureSigningKey, isPublished, unpublishAt } from '../../modules/signing-key/signing-key.service.js';
import type { TrustedIssuer } from '../../modules/trusted-issuer/trusted-issuer.entity.js';
import { TrustedIssuerRepository } from '../../modules/trusted-issuer/trusted-issuer.repository.js';
import { issuerFor } from '../../modules/environment/issuer.js';
import { remoteJwks } from './remote-jwks.js';
import { systemFork } from '../../db/tenant-scope.js';
import { environmentEm } from './context.js';
import { socialButtonsOf, type SocialButton } from '../../modules/social/social-sign-in.service.js';

export const OAUTH_CHANNEL = 'gatehouse_oauth';
/** Even without a notice, nothing cached is older than this. */
const MAX_AGE_MS = 5 * 60_000;
const MAX_CACHED_CLIENTS = 10_000;
const MAX_UNKNOWN_ENVIRONMENTS = 10_000;
const UNKNOWN_TTL_MS = 60_000;
/** An environment left without a signer (its key could not be made) is tried again this soon. */
const NO_SIGNER_RETRY_MS = 5_000;

export interface EnvironmentState {
  id: string;
  workspaceId: string;
  /** Shown on the hosted pages. */
  name: string;
  logoUrl: string | null;
  kind: EnvironmentKind;
  issuer: string;
  signUpPolicy: SignUpPolicy;
  /** Browser session lifetimes, in seconds. */
  session: { idleTtl: number; absoluteTtl: number };
  registrationPolicy: ClientRegistrationPolicy;
  initialAccessTokenHash: string | null;
  registrationScopes: string[];
  /**
   * The key that signs now; null only when the environment has none and none could be made
   * (the token endpoint then answers `temporarily_unavailable`).
   */
  signer: { kid: string; alg: SigningAlgorithm; key: KeyObject } | null;
  /** Published keys by kid: tokens signed by anything else (revoked keys included) do not verify. */
  verifyKeys: Map<string, { alg: SigningAlgorithm; key: CryptoKey }>;
  /** The JWKS document, serialised once. */
  jwks: string;
  resourceServers: Map<string, ResourceServer>;
  /** The buttons of the sign-in page: enabled, complete social connections, oldest first. */
  socialConnections: readonly SocialButton[];
  trustedIssuers: Map<string, { issuer: TrustedIssuer; getKey: JWTVerifyGetKey }>;
  /** When a key activates or leaves the JWKS next, or the maximum age: the state is reloaded then. */
  staleAt: number;
}

export interface ClientState {
  /** The row id (`app_…`, `sva_…`): what the database links to. */
  id: string;
  /** The client identifier the client itself uses: its id, or its metadata document's URL. */
  clientId: string;
  /** No credentials (SPA, native, or registered with `none`): PKCE and rotation protect it. */
  isPublic: boolean;
  /** Whether it may send people through the authorization endpoint. */
  signsPeopleIn: boolean;
  /** How its redirect URIs match: NATIVE admits any loopback port (RFC 8252), the rest exactly. */
  redirectMatching: ApplicationType.NATIVE | ApplicationType.WEB;
  environmentId: string;
  organizationId: string | null;
  kind: ClientKind;
  applicationType: ApplicationType | null;
  name: string;
  enabled: boolean;
  /** Scopes it may request: its own list plus its roles' permissions. */
  allowedScopes: Set<string>;
  allowedAudiences: string[];
  grantTypes: string[];
  accessTokenTtl: number;
  /** Interactive applications (WEB, SPA, NATIVE): where people are sent back, and how long their tokens last. */
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  allowedWebOrigins: string[];
  firstParty: boolean;
  idTokenTtl: number;
  refreshTokenIdleTtl: number;
  refreshTokenAbsoluteTtl: number;
  backchannelLogoutUri: string | null;
  customClaims: Record<string, unknown>;
  authMethod: TokenEndpointAuthMethod | null;
  secrets: { id: string; hash: string; expiresAt: number | null }[];
  /** Keys for private_key_jwt, when it has any. */
  getKey: JWTVerifyGetKey | null;
  staleAt: number;
}

/**
 * What the token endpoint reads on every request, held in memory per process: environments with
 * their keys and resource servers, and clients with their secrets. Every change to those rows
 * sends a notice (database triggers, see the oauth_cache_notify migration) that every process
 * hears at commit and answers by dropping the environment; a lost notice (reconnect) drops all.
 * Unknown ids are never cached, so guessing cannot fill memory.
 */
export class OAuthCache {
  private readonly environments = new Map<string, Promise<EnvironmentState | null>>();
  private readonly clients = new Map<string, Promise<ClientState | null>>();
  private readonly unknownEnvironments = new Map<string, number>();
  /** The environment of every cached client, to drop them with it. */
  private readonly clientEnvironments = new Map<string, string>();
  /** Other keys a client is cached under (its metadata document URL), by row id, to drop them with it. */
  private readonly clientAliases = new Map<string, Set<string>>();
  private unlisten: Unlisten | undefined;

  private constructor(
    private readonly orm: MikroORM,
    private readonly box: SecretBox,
    private readonly publicUrl: () => string,
    private readonly allowPrivateTargets: boolean,
    private readonly logger: Logger,
  ) {}

  static async start(options: {
    orm: MikroORM;
    box: SecretBox;
    publicUrl: () => string;
    allowPrivateTargets: boolean;
    logger: Logger;
    listen: (channel: string, handler: NotificationHandler) => Promise<Unlisten>;
  }): Promise<OAuthCache> {
    const cache = new OAuthCache(options.orm, options.box, options.publicUrl, options.allowPrivateTargets, options.logger);
    cache.unlisten = await options.listen(OAUTH_CHANNEL, {
      onNotify: (payload) => {
        if (payload === '*') cache.clear();
        else if (payload.startsWith('client:')) cache.invalidateClient(payload.slice('client:'.length));
        else cache.invalidate(payload);
      },
      onGap: () => cache.clear(),
    });
    return cache;
  }

  async close(): Promise<void> {
    await this.unlisten?.();
  }

  /** Drops an environment and its clients (their scopes come from its roles). */
  invalidate(environmentId: string): void {
    this.environments.delete(environmentId);
    for (const [clientId, clientEnvironment] of this.clientEnvironments) {
      if (clientEnvironment === environmentId) this.invalidateClient(clientId);
    }
  }

  invalidateClient(clientId: string): void {
    this.clients.delete(clientId);
    this.clientEnvironments.delete(clientId);
    for (const alias of this.clientAliases.get(clientId) ?? []) {
      this.clients.delete(alias);
      this.clientEnvironments.delete(alias);
    }
    this.clientAliases.delete(clientId);
  }

  clear(): void {
    this.unknownEnvironments.clear();
    this.environments.clear();
    this.clients.clear();
    this.clientEnvironments.clear();
    this.clientAliases.clear();
  }

  /** The environment behind an issuer path, or null when there is none. */
  async environment(id: string): Promise<EnvironmentState | null> {
    // Unknown ids are asked for without credentials: remembered briefly, so a flood of them
    // costs no database work. (Ids are random: nobody can ask for one before it exists.)
    const unknownUntil = this.unknownEnvironments.get(id);
    if (unknownUntil !== undefined && unknownUntil > Date.now()) return null;
    const state = await this.cached(this.environments, id, () => this.loadEnvironmentWithSigner(id), (value) => value.staleAt);
    if (!state) {
      if (this.unknownEnvironments.size >= MAX_UNKNOWN_ENVIRONMENTS) this.unknownEnvironments.clear();
      this.unknownEnvironments.set(id, Date.now() + UNKNOWN_TTL_MS);
    }
    return state;
  }

  /** A client of the environment, or null when it does not exist there. */
  async client(env: Pick<EnvironmentState, 'id' | 'workspaceId'>, clientId: string): Promise<ClientState | null> {
    // A metadata document's URL names a client in every environment that uses it: one row each.
    const id = clientId.startsWith('https://') ? `${env.id} ${clientId}` : clientId;
    if (!this.clients.has(id) && this.clients.size >= MAX_CACHED_CLIENTS) this.invalidateClient(this.clients.keys().next().value!);
    // Known as this environment's before the load starts: a change to the environment that
    // commits while the client is being read drops the load too, instead of letting it cache
    // what it read before the change.
    if (!this.clientEnvironments.has(id)) this.clientEnvironments.set(id, env.id);
    const client = await this.cached(this.clients, id, () => this.loadClient(env, clientId), (state) => state.staleAt);
    // Unknown ids are not remembered (guessing must not fill memory).
    if (!this.clients.has(id)) this.clientEnvironments.delete(id);
    else if (client) {
      this.clientEnvironments.set(id, client.environmentId);
      if (client.id !== id) this.clientAliases.set(client.id, (this.clientAliases.get(client.id) ?? new Set()).add(id));
    }
    return client && client.environmentId === env.id ? client : null;
  }

  private async cached<T>(map: Map<string, Promise<T | null>>, key: string, load: () => Promise<T | null>, staleAt: (value: T) => number): Promise<T | null> {
    const entry = map.get(key);
    if (entry) {
      const value = await entry;
      if (value && staleAt(value) > Date.now()) return value;
      if (map.get(key) === entry) map.delete(key);
    }
    const loading = load();
    map.set(key, loading);
    try {
      const value = await loading;
      if (!value && map.get(key) === loading) map.delete(key);
      return value;
    } catch (error) {
      if (map.get(key) === loading) map.delete(key);
      throw error;
    }
  }

  /**
   * The environment's state, with a signer. Environments get their first key when they are
   * created; one made without the master key (before keys came with environments, or by a
   * caller that does not hold it) gets it here, the first time its issuer is used, through the
   * signing-key service. When even that fails, the state has no signer for a few seconds.
   */
  private async loadEnvironmentWithSigner(id: string): Promise<EnvironmentState | null> {
    const state = await this.loadEnvironment(id);
    if (!state || state.signer) return state;
    try {
      await ensureSigningKey(environmentEm(this.orm, state), this.box, id);
    } catch (error) {
      this.logger.error({ err: error, environmentId: id }, 'could not create a signing key');
      return { ...state, staleAt: Math.min(state.staleAt, Date.now() + NO_SIGNER_RETRY_MS) };
    }
    return this.loadEnvironment(id);
  }

  /** Reads an environment's state; reads only. */
  private async loadEnvironment(id: string): Promise<EnvironmentState | null> {
    // The issuer path names the environment; its workspace is known once it is read.
    const environment = await new EnvironmentRepository(systemFork(this.orm, 'OAuth: the environment of the issuer named in the URL')).find(id);
    if (!environment) return null;
    const em = environmentEm(this.orm, { id, workspaceId: environment.workspaceId });
    const keys = await new SigningKeyRepository(em).unrevokedOf(id);
    const now = new Date();
    const signerRow = currentSigner(keys, now);
    const published = keys.filter((key) => isPublished(key, now)).sort((a, b) => +b.activatesAt - +a.activatesAt);
    const verifyKeys = new Map<string, { alg: SigningAlgorithm; key: CryptoKey }>();
    for (const key of published) verifyKeys.set(key.kid, { alg: key.algorithm, key: await importPublicKey(key.publicJwk as JWK, key.algorithm) });
    // The state changes on its own when a waiting key activates or a retired one leaves the JWKS.
    const transitions = keys.flatMap((key) => [key.activatesAt > now ? +key.activatesAt : Infinity, +(unpublishAt(key) ?? Infinity)]).filter((at) => at > +now);
    const [resourceServers, trustedIssuers, socialConnections] = await Promise.all([
      new ResourceServerRepository(em).allOf(id),
      new TrustedIssuerRepository(em).allOf(id),
      socialButtonsOf(em, id),
    ]);
    return {
      id,
      workspaceId: environment.workspaceId,
      name: environment.name,
      logoUrl: environment.logoUrl,
      kind: environment.kind,
      issuer: issuerFor(this.publicUrl(), id),
      signUpPolicy: environment.signUpPolicy,
      session: { idleTtl: environment.sessionIdleTtl, absoluteTtl: environment.sessionAbsoluteTtl },
      registrationPolicy: environment.clientRegistrationPolicy,
      initialAccessTokenHash: environment.initialAccessTokenHash,
      registrationScopes: environment.registrationScopes,
      signer: signerRow ? { kid: signerRow.kid, alg: signerRow.algorithm, key: openPrivateKeyObject(this.box, signerRow.id, signerRow.privateSealed) } : null,
      verifyKeys,
      jwks: JSON.stringify({ keys: published.map((key) => key.publicJwk) }),
      resourceServers: new Map(resourceServers.map((server) => [server.identifier, server])),
      socialConnections,
      trustedIssuers: new Map(
        trustedIssuers.map((issuer) => [
          issuer.issuer,
          { issuer, getKey: issuer.jwksUri ? remoteJwks(issuer.jwksUri, this.allowPrivateTargets) : createLocalJWKSet(issuer.jwks as JSONWebKeySet) },
        ]),
      ),
      staleAt: Math.min(Date.now() + (signerRow ? MAX_AGE_MS : NO_SIGNER_RETRY_MS), ...transitions),
    };
  }

  /** Reads a client of the environment (null for another environment's); reads only. */
  private async loadClient(env: Pick<EnvironmentState, 'id' | 'workspaceId'>, key: string): Promise<ClientState | null> {
    const byDocument = key.startsWith('https://');
    if (!byDocument && !/^(sva|app)_[0-9a-z]{26}$/.test(key)) return null;
    const em = environmentEm(this.orm, env);
    const clients = new OAuthClientRepository(em);
    const client = byDocument ? await clients.findByMetadataDocument(env.id, key) : await clients.find(key);
    if (!client) return null;
    const id = client.id;
    const [secrets, permissions] = await Promise.all([new ClientSecretRepository(em).unrevokedOf(id), clients.permissionKeysOf(id)]);
    let getKey: JWTVerifyGetKey | null = null;
    try {
      if (client.jwks) getKey = createLocalJWKSet(client.jwks as JSONWebKeySet);
      else if (client.jwksUri) getKey = remoteJwks(client.jwksUri, this.allowPrivateTargets);
    } catch (error) {
      this.logger.warn({ err: error, clientId: id }, 'unusable client JWKS');
    }
    const type = client.applicationType;
    const registeredNative = (client.registrationMetadata as { application_type?: unknown } | null)?.application_type === 'native';
    return {
      id,
      clientId: client.metadataDocumentUrl ?? id,
      isPublic: isPublicClient(type) || client.tokenEndpointAuthMethod === 'none',
      signsPeopleIn: client.grantTypes.includes('authorization_code') && (isInteractive(type) || type === ApplicationType.DYNAMIC),
      redirectMatching: type === ApplicationType.NATIVE || (type === ApplicationType.DYNAMIC && registeredNative) ? ApplicationType.NATIVE : ApplicationType.WEB,
      environmentId: client.environmentId,
      organizationId: client.organizationId,
      kind: client.kind,
      applicationType: client.applicationType,
      name: client.name,
      enabled: client.enabled,
      allowedScopes: new Set([...client.allowedScopes, ...permissions]),
      allowedAudiences: client.allowedAudiences,
      grantTypes: client.grantTypes,
      accessTokenTtl: client.accessTokenTtl,
      redirectUris: client.redirectUris,
      postLogoutRedirectUris: client.postLogoutRedirectUris,
      allowedWebOrigins: client.allowedWebOrigins,
      firstParty: client.firstParty,
      idTokenTtl: client.idTokenTtl,
      refreshTokenIdleTtl: client.refreshTokenIdleTtl,
      refreshTokenAbsoluteTtl: client.refreshTokenAbsoluteTtl,
      backchannelLogoutUri: client.backchannelLogoutUri,
      customClaims: client.customClaims,
      authMethod: client.tokenEndpointAuthMethod,
      secrets: secrets.map((secret) => ({ id: secret.id, hash: secret.secretHash, expiresAt: secret.expiresAt ? +secret.expiresAt : null })),
      getKey,
      staleAt: Date.now() + MAX_AGE_MS,
    };
  }
}
