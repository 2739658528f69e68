import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { checkCredential, checkIdpUrl, checkOidcScopes } from '../connection/connection.validation.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName } from '../validation.js';
import { SocialConnection, type SocialProvider } from './social-connection.entity.js';
import { SocialConnectionRepository, SocialIdentityLinkRepository } from './social-connection.repository.js';
import { effectiveSettings, missingSetting, SOCIAL_PRESETS } from './social-presets.js';

const RESOURCE = 'social_connection';
/** Buttons on one sign-in page, at most. */
export const MAX_SOCIAL_CONNECTIONS = 10;
const MAX_LABEL_LENGTH = 60;

/** The sealed client secret is bound to its connection: copied to another row, it opens nowhere. */
export const socialSecretBinding = (connectionId: string) => `social_connection:${connectionId}:client_secret`;

const target = (connection: SocialConnection) => ({ type: 'social_connection', id: connection.id, name: connection.name });

/** What audit events say of a connection: never its client secret. */
const snapshot = (connection: SocialConnection) => ({
  id: connection.id,
  provider: connection.provider,
  name: connection.name,
  enabled: connection.enabled,
  clientId: connection.clientId,
  scopes: connection.scopes,
  issuer: connection.issuer,
  authorizationUrl: connection.authorizationUrl,
  tokenUrl: connection.tokenUrl,
  userinfoUrl: connection.userinfoUrl,
});

/** Where the provider is: a change means other people behind the same subjects. */
export const providerIdentity = (connection: SocialConnection) => {
  const settings = effectiveSettings(connection);
  return [settings.issuer, settings.authorizationUrl, settings.tokenUrl, settings.userinfoUrl].join('\n');
};

export interface SocialConnectionInput {
  name?: string | null;
  enabled?: boolean | null;
  clientId?: string | null;
  clientSecret?: string | null;
  /** Replaces the scopes (`null` or `[]`: the preset's). */
  scopes?: string[] | null;
  /** Endpoint overrides (`null`: the preset's). */
  issuer?: string | null;
  authorizationUrl?: string | null;
  tokenUrl?: string | null;
  userinfoUrl?: string | null;
}

function apply(connection: SocialConnection, input: SocialConnectionInput, box: SecretBox): void {
  const protocol = SOCIAL_PRESETS[connection.provider].protocol;
  if (input.name != null) connection.name = checkName(input.name, ['input', 'name'], MAX_LABEL_LENGTH);
  if (input.enabled != null) connection.enabled = input.enabled;
  if (input.clientId != null) connection.clientId = checkCredential(input.clientId, ['input', 'clientId'], 'The client id', RESOURCE);
  if (input.clientSecret != null) connection.clientSecretSealed = box.seal(checkCredential(input.clientSecret, ['input', 'clientSecret'], 'The client secret', RESOURCE), socialSecretBinding(connection.id));
  if (input.scopes !== undefined) {
    connection.scopes = input.scopes?.length ? checkOidcScopes(input.scopes, ['input', 'scopes'], { resource: RESOURCE, openid: protocol === 'oidc' }) : [];
  }
  const endpoints = protocol === 'oidc' ? (['issuer'] as const) : (['authorizationUrl', 'tokenUrl', 'userinfoUrl'] as const);
  for (const name of ['issuer', 'authorizationUrl', 'tokenUrl', 'userinfoUrl'] as const) {
    const value = input[name];
    if (value === undefined) continue;
    if (value !== null && !(endpoints as readonly string[]).includes(name)) {
      throw invalid(`${RESOURCE}.not_applicable`, `A ${connection.provider} connection has no ${name}: it is configured by its ${endpoints.join(', ')}`, ['input', name]);
    }
    const url = value === null ? null : checkIdpUrl(value, ['input', name], RESOURCE);
    connection[name] = name === 'issuer' && url ? url.replace(/\/$/, '') : url;
  }
  const missing = missingSetting(connection);
  if (missing) throw invalid(`${RESOURCE}.incomplete`, `A ${connection.provider} connection needs ${missing}`, ['input']);
}

export async function getSocialConnection(ctx: ServiceContext, id: string): Promise<SocialConnection> {
  requireScope(ctx.principal, 'environments:read');
  return new SocialConnectionRepository(ctx.em).get(id);
}

export async function listSocialConnections(ctx: ServiceContext, environmentId: string | null | undefined, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'environments:read');
  return new SocialConnectionRepository(ctx.em).page(environmentFor(ctx, environmentId), args, maxPageSize);
}

export async function createSocialConnection(
  ctx: ServiceContext,
  box: SecretBox,
  input: SocialConnectionInput & { environmentId?: string | null; provider: SocialProvider; clientId: string; clientSecret: string },
): Promise<SocialConnection> {
  requireScope(ctx.principal, 'environments:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  return inTransaction(ctx, async (em) => {
    const connections = new SocialConnectionRepository(em);
    await connections.lockEnvironment(environmentId);
    if ((await connections.countOf(environmentId)) >= MAX_SOCIAL_CONNECTIONS) {
      throw invalid(`${RESOURCE}.limit_reached`, `An environment has at most ${MAX_SOCIAL_CONNECTIONS} social connections`, ['input', 'environmentId']);
    }
    const connection = new SocialConnection();
    Object.assign(connection, { id: newId('socialConnection'), environmentId, provider: input.provider, name: SOCIAL_PRESETS[input.provider].label });
    apply(connection, input, box);
    em.persist(connection);
    audit(ctx, em, { action: 'social_connection.created', environmentId, targets: [target(connection)], after: snapshot(connection) });
    return connection;
  });
}

export async function updateSocialConnection(ctx: ServiceContext, box: SecretBox, input: SocialConnectionInput & { id: string }): Promise<SocialConnection> {
  requireScope(ctx.principal, 'environments:write');
  return inTransaction(ctx, async (em) => {
    const connection = await new SocialConnectionRepository(em).lock(input.id);
    const before = snapshot(connection);
    const provider = providerIdentity(connection);
    apply(connection, input, box);
    // Another provider behind the same connection: its subjects are not the old one's people.
    if (providerIdentity(connection) !== provider) await new SocialIdentityLinkRepository(em).deleteOfConnection(connection.id);
    audit(ctx, em, { action: 'social_connection.updated', environmentId: connection.environmentId, targets: [target(connection)], before, after: snapshot(connection) });
    return connection;
  });
}

export async function deleteSocialConnection(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'environments:write');
  return inTransaction(ctx, async (em) => {
    const connections = new SocialConnectionRepository(em);
    const connection = await connections.lock(input.id);
    await connections.delete(connection.id);
    audit(ctx, em, { action: 'social_connection.deleted', environmentId: connection.environmentId, targets: [target(connection)], before: snapshot(connection) });
    return connection.id;
  });
}
