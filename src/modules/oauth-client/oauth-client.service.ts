import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { jwksFingerprint } from '../../crypto/signing-keys.js';
import { isIdOf, newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid, notFound } from '../../errors/app-error.js';
import { OrganizationRepository } from '../organization/organization.repository.js';
import { ResourceServerRepository } from '../resource-server/resource-server.repository.js';
import { resolveRoleIds } from '../role/role.service.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkOptionalText } from '../validation.js';
import { ApplicationType, ClientKind, ClientSecret, OAuthClient } from './oauth-client.entity.js';
import { ClientSecretRepository, OAuthClientRepository } from './oauth-client.repository.js';
import {
  applyApplicationSettings,
  checkApplicationSettings,
  INTERACTIVE_GRANT_TYPES,
  isInteractive,
  isPublicClient,
  type ApplicationSettingsInput,
} from './application-settings.js';
import {
  checkAccessTokenTtl,
  checkCustomClaims,
  checkGrantTypes,
  checkJwks,
  checkJwksUri,
  checkScopeList,
} from './oauth-client.validation.js';

/** Unrevoked, unexpired secrets a client may hold at once (enough to rotate without downtime). */
export const MAX_LIVE_SECRETS_PER_CLIENT = 5;
const MAX_AUDIENCES = 20;
export const CLIENT_SECRET_PREFIX = 'ghcs_';

/** The audit and error name of a client's kind. */
const resourceOf = (kind: ClientKind) => (kind === ClientKind.SERVICE_ACCOUNT ? 'service_account' : 'application');

/** The resource a client id names, by its prefix (`sva_` / `app_`). */
const resourceOfId = (id: string) => (isIdOf('application', id) ? 'application' : isIdOf('serviceAccount', id) ? 'service_account' : 'oauth_client');

const clientTarget = (client: Pick<OAuthClient, 'id' | 'kind' | 'name'>) => ({ type: resourceOf(client.kind), id: client.id, name: client.name });
const secretTarget = (secret: ClientSecret) => ({ type: 'client_secret', id: secret.id, name: secret.prefix });

/**
 * What an audit event shows of a client. Keys avoid the words the redactor masks (`token`,
 * `secret`, …): the lifetime is `accessTtl`, the auth method `authMethod`; the JWKS is a
 * fingerprint.
 */
function snapshotClient(client: OAuthClient, roleKeys: string[]) {
  return {
    id: client.id,
    kind: client.kind,
    ...(client.kind === ClientKind.APPLICATION ? { type: client.applicationType } : { organizationId: client.organizationId }),
    name: client.name,
    description: client.description,
    enabled: client.enabled,
    allowedScopes: client.allowedScopes,
    allowedAudiences: client.allowedAudiences,
    grantTypes: client.grantTypes,
    accessTtl: client.accessTokenTtl,
    customClaims: client.customClaims,
    jwksFingerprint: client.jwks ? jwksFingerprint(client.jwks) : null,
    jwksUri: client.jwksUri,
    roles: roleKeys,
    ...(client.kind === ClientKind.APPLICATION ? { redirectUris: client.redirectUris, authMethod: client.tokenEndpointAuthMethod } : {}),
    ...(isInteractive(client.applicationType)
      ? {
          postLogoutRedirectUris: client.postLogoutRedirectUris,
          allowedWebOrigins: client.allowedWebOrigins,
          firstParty: client.firstParty,
          idTtl: client.idTokenTtl,
          refreshIdleTtl: client.refreshTokenIdleTtl,
          refreshAbsoluteTtl: client.refreshTokenAbsoluteTtl,
          backchannelLogoutUri: client.backchannelLogoutUri,
          initiateLoginUri: client.initiateLoginUri,
        }
      : {}),
  };
}

const snapshotSecret = (secret: ClientSecret) => ({
  id: secret.id,
  clientId: secret.clientId,
  prefix: secret.prefix,
  description: secret.description,
  expiresAt: secret.expiresAt,
  revokedAt: secret.revokedAt,
});

/** Fields of a client that the management API sets; every one optional. */
export interface ClientFieldsInput {
  name?: string | null;
  description?: string | null;
  allowedScopes?: string[] | null;
  allowedAudiences?: string[] | null;
  grantTypes?: string[] | null;
  accessTokenTtl?: number | null;
  customClaims?: Record<string, unknown> | null;
  jwks?: Record<string, unknown> | null;
  jwksUri?: string | null;
  roleKeys?: string[] | null;
  enabled?: boolean | null;
}

/** Checked values; undefined leaves a field as it is. */
interface ClientChanges {
  name?: string;
  description?: string | null;
  allowedScopes?: string[];
  audiences?: string[];
  grantTypes?: string[];
  accessTokenTtl?: number;
  customClaims?: Record<string, unknown>;
  jwks?: { keys: Record<string, unknown>[] } | null;
  jwksUri?: string | null;
  roleKeys?: string[];
  enabled?: boolean;
}

/** Every input check that needs no database, before the transaction. */
/**
 * `grants`: `machine` checks grant types as a service account's; `deferred` leaves them to
 * checkApplicationSettings, which knows the application's type.
 */
async function checkClientFields(input: ClientFieldsInput, allowPrivateTargets: boolean, grants: 'machine' | 'deferred'): Promise<ClientChanges> {
  const field = (name: string) => ['input', name];
  const changes: ClientChanges = {};
  if (input.name != null) changes.name = checkName(input.name, field('name'));
  if (input.description !== undefined) changes.description = checkOptionalText(input.description, field('description'));
  if (input.allowedScopes != null) changes.allowedScopes = checkScopeList(input.allowedScopes, field('allowedScopes'));
  if (input.allowedAudiences != null) {
    const audiences = [...new Set(input.allowedAudiences)].sort();
    if (audiences.length > MAX_AUDIENCES) throw invalid('oauth_client.too_many_audiences', `At most ${MAX_AUDIENCES} audiences`, field('allowedAudiences'));
    changes.audiences = audiences;
  }
  if (input.grantTypes != null && grants === 'machine') changes.grantTypes = checkGrantTypes(input.grantTypes, field('grantTypes'));
  if (input.accessTokenTtl != null) changes.accessTokenTtl = checkAccessTokenTtl(input.accessTokenTtl, field('accessTokenTtl'));
  if (input.customClaims !== undefined) changes.customClaims = checkCustomClaims(input.customClaims, field('customClaims'));
  if (input.jwks != null && input.jwksUri != null) {
    throw invalid('oauth.jwks_conflict', 'Give either jwks or jwksUri, not both', field('jwksUri'));
  }
  // Setting one key source clears the other; `null` clears just that one.
  if (input.jwks !== undefined) {
    changes.jwks = input.jwks === null ? null : await checkJwks(input.jwks, field('jwks'));
    if (changes.jwks) changes.jwksUri = null;
  }
  if (input.jwksUri !== undefined) {
    changes.jwksUri = input.jwksUri === null ? null : checkJwksUri(input.jwksUri, allowPrivateTargets, field('jwksUri'));
    if (changes.jwksUri) changes.jwks = null;
  }
  if (input.roleKeys != null) changes.roleKeys = input.roleKeys;
  if (input.enabled != null) changes.enabled = input.enabled;
  return changes;
}

/**
 * Audiences must name resource servers of the client's environment. They are read `for share`,
 * so a resource server being deleted (which removes its identifier from every client) cannot
 * slip between this check and the commit.
 */
async function checkAudiences(em: EntityManager, environmentId: string, audiences: string[]): Promise<void> {
  if (!audiences.length) return;
  const servers = await new ResourceServerRepository(em).shareByIdentifiers(environmentId, audiences);
  const missing = audiences.filter((audience) => !servers.some((server) => server.identifier === audience));
  if (missing.length) {
    throw invalid(
      'oauth_client.unknown_audience',
      `No resource server of this environment has the identifier ${missing.map((a) => `"${a}"`).join(', ')}`,
      ['input', 'allowedAudiences'],
    );
  }
}

/** The organization of a service account: one of the same environment, or NOT_FOUND. */
async function organizationOf(em: EntityManager, environmentId: string, organizationId: string): Promise<string> {
  const organization = await new OrganizationRepository(em).get(organizationId);
  if (organization.environmentId !== environmentId) throw notFound('organization', organizationId);
  return organization.id;
}

export const roleKeysOf = (em: EntityManager, clientId: string): Promise<string[]> => new OAuthClientRepository(em).roleKeysOf(clientId);

async function setRoles(em: EntityManager, client: OAuthClient, roleKeys: string[], replace: boolean): Promise<string[]> {
  const roleIds = await resolveRoleIds(em, client.environmentId, roleKeys, ['input', 'roleKeys']);
  await new OAuthClientRepository(em).linkRoles(client.id, roleIds, replace);
  return [...new Set(roleKeys)].sort();
}

function applyChanges(client: OAuthClient, changes: ClientChanges): void {
  if (changes.name !== undefined) client.name = changes.name;
  if (changes.description !== undefined) client.description = changes.description;
  if (changes.allowedScopes !== undefined) client.allowedScopes = changes.allowedScopes;
  if (changes.audiences !== undefined) client.allowedAudiences = changes.audiences;
  if (changes.grantTypes !== undefined) client.grantTypes = changes.grantTypes;
  if (changes.accessTokenTtl !== undefined) client.accessTokenTtl = changes.accessTokenTtl;
  if (changes.customClaims !== undefined) client.customClaims = changes.customClaims;
  if (changes.jwks !== undefined) client.jwks = changes.jwks;
  if (changes.jwksUri !== undefined) client.jwksUri = changes.jwksUri;
  if (changes.enabled !== undefined) client.enabled = changes.enabled;
}

// ───────────────────────────── reads ─────────────────────────────

async function getClient(ctx: ServiceContext, kind: ClientKind, id: string): Promise<OAuthClient> {
  requireScope(ctx.principal, 'oauth:read');
  const client = await new OAuthClientRepository(ctx.em, resourceOf(kind)).get(id);
  if (client.kind !== kind) throw notFound(resourceOf(kind), id);
  return client;
}

export const getServiceAccount = (ctx: ServiceContext, id: string) => getClient(ctx, ClientKind.SERVICE_ACCOUNT, id);
export const getApplication = (ctx: ServiceContext, id: string) => getClient(ctx, ClientKind.APPLICATION, id);

export async function getClientSecret(ctx: ServiceContext, id: string): Promise<ClientSecret> {
  requireScope(ctx.principal, 'oauth:read');
  return new ClientSecretRepository(ctx.em).get(id);
}

export async function listServiceAccounts(
  ctx: ServiceContext,
  query: { environmentId?: string | null; organizationId?: string | null },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'oauth:read');
  const where: FilterQuery<OAuthClient> = { environmentId: environmentFor(ctx, query.environmentId), kind: ClientKind.SERVICE_ACCOUNT };
  if (query.organizationId) where.organizationId = query.organizationId;
  return new OAuthClientRepository(ctx.em).page(where, args, maxPageSize);
}

export async function listApplications(
  ctx: ServiceContext,
  query: { environmentId?: string | null; type?: ApplicationType | null },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'oauth:read');
  const where: FilterQuery<OAuthClient> = { environmentId: environmentFor(ctx, query.environmentId), kind: ClientKind.APPLICATION };
  if (query.type) where.applicationType = query.type;
  return new OAuthClientRepository(ctx.em).page(where, args, maxPageSize);
}

// ───────────────────────────── clients ─────────────────────────────

export interface CreateClientInput extends ClientFieldsInput {
  environmentId?: string | null;
  name: string;
}

async function createClient(
  ctx: ServiceContext,
  kind: ClientKind,
  input: CreateClientInput & { organizationId?: string | null; type?: ApplicationType | null } & ApplicationSettingsInput,
  allowPrivateTargets: boolean,
): Promise<OAuthClient> {
  requireScope(ctx.principal, 'oauth:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const type = kind === ClientKind.APPLICATION ? (input.type ?? ApplicationType.M2M) : null;
  if (type === ApplicationType.DYNAMIC) {
    throw invalid('oauth_client.invalid_type', 'DYNAMIC applications come from dynamic client registration, not from this API', ['input', 'type']);
  }
  const changes = await checkClientFields(input, allowPrivateTargets, type ? 'deferred' : 'machine');
  const settings = type ? checkApplicationSettings(type, input, null, allowPrivateTargets) : {};
  const resource = resourceOf(kind);
  return inTransaction(ctx, async (em) => {
    const organizationId = input.organizationId ? await organizationOf(em, environmentId, input.organizationId) : null;
    await checkAudiences(em, environmentId, changes.audiences ?? []);
    const client = new OAuthClientRepository(em).create({
      id: newId(kind === ClientKind.SERVICE_ACCOUNT ? 'serviceAccount' : 'application'),
      environmentId,
      organizationId,
      kind,
      applicationType: type,
      name: changes.name!,
      description: changes.description ?? null,
      enabled: changes.enabled ?? true,
      allowedScopes: changes.allowedScopes ?? [],
      allowedAudiences: changes.audiences ?? [],
      grantTypes: settings.grantTypes ?? changes.grantTypes ?? (isInteractive(type) ? [...INTERACTIVE_GRANT_TYPES] : ['client_credentials']),
      accessTokenTtl: changes.accessTokenTtl ?? 3600,
      customClaims: changes.customClaims ?? {},
      jwks: changes.jwks ?? null,
      jwksUri: changes.jwksUri ?? null,
    });
    applyApplicationSettings(client, settings);
    const roleKeys = await setRoles(em, client, changes.roleKeys ?? [], false);
    audit(ctx, em, {
      action: `${resource}.created`,
      environmentId,
      organizationId,
      targets: [clientTarget(client)],
      after: snapshotClient(client, roleKeys),
    });
    return client;
  });
}

async function updateClient(
  ctx: ServiceContext,
  kind: ClientKind,
  input: ClientFieldsInput & ApplicationSettingsInput & { id: string; organizationId?: string | null },
  allowPrivateTargets: boolean,
): Promise<OAuthClient> {
  requireScope(ctx.principal, 'oauth:write');
  const changes = await checkClientFields(input, allowPrivateTargets, kind === ClientKind.APPLICATION ? 'deferred' : 'machine');
  const resource = resourceOf(kind);
  return inTransaction(ctx, async (em) => {
    const client = await new OAuthClientRepository(em, resource).lock(input.id);
    if (client.kind !== kind) throw notFound(resource, input.id);
    // What an application may hold depends on its type, known once it is read.
    const settings = client.applicationType ? checkApplicationSettings(client.applicationType, input, client, allowPrivateTargets) : {};
    const beforeKeys = await roleKeysOf(em, client.id);
    const before = snapshotClient(client, beforeKeys);
    if (input.organizationId !== undefined) {
      client.organizationId = input.organizationId ? await organizationOf(em, client.environmentId, input.organizationId) : null;
    }
    if (changes.audiences) await checkAudiences(em, client.environmentId, changes.audiences);
    applyChanges(client, changes);
    applyApplicationSettings(client, settings);
    const afterKeys = changes.roleKeys ? await setRoles(em, client, changes.roleKeys, true) : beforeKeys;
    audit(ctx, em, {
      action: `${resource}.updated`,
      environmentId: client.environmentId,
      organizationId: client.organizationId,
      targets: [clientTarget(client)],
      before,
      after: snapshotClient(client, afterKeys),
    });
    return client;
  });
}

async function deleteClient(ctx: ServiceContext, kind: ClientKind, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'oauth:write');
  const resource = resourceOf(kind);
  return inTransaction(ctx, async (em) => {
    const clients = new OAuthClientRepository(em, resource);
    const client = await clients.lock(input.id);
    if (client.kind !== kind) throw notFound(resource, input.id);
    const before = snapshotClient(client, await clients.roleKeysOf(client.id));
    await clients.delete(client.id);
    audit(ctx, em, {
      action: `${resource}.deleted`,
      environmentId: client.environmentId,
      organizationId: client.organizationId,
      targets: [clientTarget(client)],
      before,
    });
    return client.id;
  });
}

export type CreateServiceAccountInput = CreateClientInput & { organizationId?: string | null };

export const createServiceAccount = (ctx: ServiceContext, input: CreateServiceAccountInput, allowPrivateTargets: boolean) =>
  createClient(ctx, ClientKind.SERVICE_ACCOUNT, input, allowPrivateTargets);

export const updateServiceAccount = (
  ctx: ServiceContext,
  input: ClientFieldsInput & { id: string; organizationId?: string | null },
  allowPrivateTargets: boolean,
) => updateClient(ctx, ClientKind.SERVICE_ACCOUNT, input, allowPrivateTargets);

export const deleteServiceAccount = (ctx: ServiceContext, input: { id: string }) => deleteClient(ctx, ClientKind.SERVICE_ACCOUNT, input);

/** Applications of every type but DYNAMIC, which come from registration. */
export const createApplication = (
  ctx: ServiceContext,
  input: CreateClientInput & ApplicationSettingsInput & { type?: ApplicationType | null },
  allowPrivateTargets: boolean,
) => createClient(ctx, ClientKind.APPLICATION, { ...input, organizationId: null }, allowPrivateTargets);

/** Works on DYNAMIC applications too: this is how an admin disables a registered client. */
export const updateApplication = (ctx: ServiceContext, input: ClientFieldsInput & ApplicationSettingsInput & { id: string }, allowPrivateTargets: boolean) =>
  updateClient(ctx, ClientKind.APPLICATION, { ...input, organizationId: undefined }, allowPrivateTargets);

export const deleteApplication = (ctx: ServiceContext, input: { id: string }) => deleteClient(ctx, ClientKind.APPLICATION, input);

// ───────────────────────────── secrets ─────────────────────────────

/** A client secret: `ghcs_` and 256 random bits. */
export const newClientSecret = (): string => `${CLIENT_SECRET_PREFIX}${randomToken()}`;

/** Whether a secret may still authenticate at `now`. */
export const isLiveSecret = (secret: Pick<ClientSecret, 'revokedAt' | 'expiresAt'>, now: Date): boolean =>
  !secret.revokedAt && (!secret.expiresAt || secret.expiresAt > now);

/**
 * The one way a client secret is made, for the management API and dynamic registration alike:
 * `ghcs_` and 256 random bits, of which only the SHA-256 and a short prefix are kept. Adds it
 * to the caller's unit of work; the secret itself is returned this once.
 */
export function issueClientSecret(
  em: EntityManager,
  client: Pick<OAuthClient, 'id' | 'environmentId'>,
  input: { description: string | null; expiresAt?: Date | null },
): { clientSecret: ClientSecret; secret: string } {
  const secret = newClientSecret();
  const clientSecret = new ClientSecretRepository(em).create({
    id: newId('clientSecret'),
    clientId: client.id,
    environmentId: client.environmentId,
    secretHash: hashSecret(secret),
    prefix: secret.slice(0, CLIENT_SECRET_PREFIX.length + 7),
    description: input.description,
    expiresAt: input.expiresAt ?? null,
  });
  return { clientSecret, secret };
}

/** Adds a secret to a client; the secret is returned this once, only its SHA-256 is kept. */
export async function createClientSecret(
  ctx: ServiceContext,
  input: { clientId: string; description?: string | null; expiresAt?: Date | null },
): Promise<{ clientSecret: ClientSecret; secret: string }> {
  requireScope(ctx.principal, 'oauth:write');
  const description = checkOptionalText(input.description, ['input', 'description']);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw invalid('client_secret.invalid_expiry', 'expiresAt must be in the future', ['input', 'expiresAt']);
  }
  return inTransaction(ctx, async (em) => {
    // The client's row lock serialises secret creation, so the limit holds under concurrency.
    const client = await new OAuthClientRepository(em, resourceOfId(input.clientId)).lock(input.clientId);
    if (isPublicClient(client.applicationType)) {
      throw invalid('oauth_client.public_client', `A ${client.applicationType} application is a public client: it holds no secret, PKCE binds its codes`, ['input', 'clientId']);
    }
    const now = new Date();
    const existing = await new ClientSecretRepository(em).unrevokedOf(client.id);
    if (existing.filter((other) => isLiveSecret(other, now)).length >= MAX_LIVE_SECRETS_PER_CLIENT) {
      throw invalid(
        'client_secret.too_many',
        `A client holds at most ${MAX_LIVE_SECRETS_PER_CLIENT} unrevoked, unexpired secrets; revoke one first`,
        ['input', 'clientId'],
      );
    }
    const issued = issueClientSecret(em, client, { description, expiresAt: input.expiresAt ?? null });
    audit(ctx, em, {
      action: 'client_secret.created',
      environmentId: client.environmentId,
      organizationId: client.organizationId,
      targets: [secretTarget(issued.clientSecret), clientTarget(client)],
      after: snapshotSecret(issued.clientSecret),
    });
    return issued;
  });
}

export async function revokeClientSecret(ctx: ServiceContext, input: { id: string }): Promise<ClientSecret> {
  requireScope(ctx.principal, 'oauth:write');
  return inTransaction(ctx, async (em) => {
    const clientSecret = await new ClientSecretRepository(em).lock(input.id);
    if (clientSecret.revokedAt) throw invalid('client_secret.already_revoked', 'This secret is already revoked', ['input', 'id']);
    const client = await new OAuthClientRepository(em).get(clientSecret.clientId);
    const before = snapshotSecret(clientSecret);
    clientSecret.revokedAt = new Date();
    audit(ctx, em, {
      action: 'client_secret.revoked',
      environmentId: clientSecret.environmentId,
      organizationId: client.organizationId,
      targets: [secretTarget(clientSecret), clientTarget(client)],
      before,
      after: snapshotSecret(clientSecret),
    });
    return clientSecret;
  });
}
