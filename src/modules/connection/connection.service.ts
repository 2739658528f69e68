import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { isIdOf, newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { OrganizationRepository } from '../organization/organization.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName } from '../validation.js';
import { SsoConnection, SsoConnectionStatus, SsoConnectionType, SsoProvider } from './connection.entity.js';
import { SsoConnectionRepository, SsoIdentityLinkRepository } from './connection.repository.js';
import { OAuthClientRepository } from '../oauth-client/oauth-client.repository.js';
import { ClientKind } from '../oauth-client/oauth-client.entity.js';
import { applyIdpMetadata, fetchIdpMetadata, keepWarnings } from './idp-metadata-refresh.js';
import { checkAttributeMapping, checkCredential, checkEntityId, checkGroupRoleRows, checkIdpCertificates, checkIdpUrl, checkOidcScopes } from './connection.validation.js';
import { CustomAttributeDefinitionRepository } from '../user/user.repository.js';
import { resolveRoleIds } from '../role/role.service.js';

export const connectionTarget = (connection: SsoConnection) => ({ type: 'sso_connection', id: connection.id, name: connection.name });

/** SAML connections, and SIMULATOR ones (SAML with Gatehouse's built-in IdP): the SAML endpoints serve both alike. */
export const speaksSaml = (type: SsoConnectionType): boolean => type === SsoConnectionType.SAML || type === SsoConnectionType.SIMULATOR;

/** What audit events say of a connection: never its client secret, only whether it has one (`confidentialClient`). */
export const snapshotConnection = (connection: SsoConnection) => ({
  id: connection.id,
  organizationId: connection.organizationId,
  name: connection.name,
  type: connection.type,
  provider: connection.provider,
  status: connection.status,
  allowGuestDomains: connection.allowGuestDomains,
  attributeMapping: connection.attributeMapping,
  groupRoleMappings: connection.groupRoleMappings,
  ...(speaksSaml(connection.type)
    ? {
        idpMetadataUrl: connection.idpMetadataUrl,
        idpEntityId: connection.idpEntityId,
        idpSsoUrl: connection.idpSsoUrl,
        idpCertificates: connection.idpCertificates.map((certificate) => ({ fingerprint: certificate.fingerprint, notAfter: certificate.notAfter })),
        allowIdpInitiated: connection.allowIdpInitiated,
        idpInitiatedApplicationId: connection.idpInitiatedApplicationId,
        requireSignedAssertion: connection.requireSignedAssertion,
        allowSha1: connection.allowSha1,
      }
    : { oidcIssuer: connection.oidcIssuer, oidcClientId: connection.oidcClientId, confidentialClient: connection.oidcClientSecretSealed !== null, oidcScopes: connection.oidcScopes }),
});

/** What an ACTIVE connection needs to sign anyone in; null when it has it all. */
function missingForActive(connection: SsoConnection): string | null {
  if (speaksSaml(connection.type)) {
    if (!connection.idpEntityId) return 'the IdP entity id';
    if (!connection.idpSsoUrl) return 'the IdP SSO URL';
    if (!connection.idpCertificates.length) return 'an IdP signing certificate';
  } else {
    if (!connection.oidcIssuer) return 'the issuer';
    if (!connection.oidcClientId) return 'the client id';
    if (!connection.oidcClientSecretSealed) return 'the client secret';
  }
  return null;
}

function checkActivatable(connection: SsoConnection): void {
  if (connection.status !== SsoConnectionStatus.ACTIVE) return;
  const missing = missingForActive(connection);
  if (missing) throw invalid('sso_connection.incomplete', `An active connection needs ${missing}`, ['input', 'status']);
}

export async function getSsoConnection(ctx: ServiceContext, id: string): Promise<SsoConnection> {
  requireScope(ctx.principal, 'organizations:read');
  return new SsoConnectionRepository(ctx.em).get(id);
}

export async function listSsoConnections(
  ctx: ServiceContext,
  filter: { environmentId?: string | null; organizationId?: string | null },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'organizations:read');
  if (filter.organizationId) {
    // The organization is read through the caller's scope: another tenant's is NOT_FOUND.
    const organization = await new OrganizationRepository(ctx.em).get(filter.organizationId);
    return new SsoConnectionRepository(ctx.em).page({ organizationId: organization.id }, args, maxPageSize);
  }
  return new SsoConnectionRepository(ctx.em).page({ environmentId: environmentFor(ctx, filter.environmentId) }, args, maxPageSize);
}

interface CommonInput {
  name?: string | null;
  provider?: SsoProvider | null;
  status?: SsoConnectionStatus | null;
  allowGuestDomains?: boolean | null;
  /** Replaces the connection's attribute names (omitted: unchanged; `null`: the preset's only). */
  attributeMapping?: Parameters<typeof checkAttributeMapping>[0] | null;
  /** Replaces the group → role rows, in priority order (`[]` or `null`: roles are managed in Gatehouse). */
  groupRoleMappings?: { group: string; roleKeys: string[] }[] | null;
}

/**
 * The fields of an input that name other objects, checked against the connection's
 * environment: custom attributes and roles of the mappings, the IdP-initiated application.
 */
async function applyReferences(em: EntityManager, connection: SsoConnection, input: CommonInput & { idpInitiatedApplicationId?: string | null }): Promise<void> {
  if (input.idpInitiatedApplicationId !== undefined) {
    const field = ['input', 'idpInitiatedApplicationId'];
    if (input.idpInitiatedApplicationId === null) connection.idpInitiatedApplicationId = null;
    else {
      const application = isIdOf('application', input.idpInitiatedApplicationId) ? await new OAuthClientRepository(em, 'application').find(input.idpInitiatedApplicationId) : null;
      if (!application || application.kind !== ClientKind.APPLICATION || application.environmentId !== connection.environmentId) {
        throw invalid('sso_connection.unknown_application', 'No application of the connection\'s environment has this id', field);
      }
      if (!application.initiateLoginUri) {
        throw invalid('sso_connection.application_cannot_start_sign_in', 'The application has no initiateLoginUri: an IdP-initiated sign-in could not hand it over', field);
      }
      connection.idpInitiatedApplicationId = application.id;
    }
  }
  if (input.attributeMapping !== undefined) {
    const keys = new Set((await new CustomAttributeDefinitionRepository(em).ofEnvironment(connection.environmentId)).map((definition) => definition.key));
    connection.attributeMapping = input.attributeMapping === null ? {} : checkAttributeMapping(input.attributeMapping, keys, ['input', 'attributeMapping']);
  }
  if (input.groupRoleMappings !== undefined) {
    const field = ['input', 'groupRoleMappings'];
    const rows = checkGroupRoleRows(input.groupRoleMappings ?? [], field);
    for (const [index, row] of rows.entries()) await resolveRoleIds(em, connection.environmentId, row.roleKeys, [...field, String(index), 'roleKeys']);
    connection.groupRoleMappings = rows;
  }
}

export interface SamlSettingsInput extends CommonInput {
  /** The IdP's metadata XML: sets the entity id, SSO URL and certificates (fields given beside it win). */
  idpMetadataXml?: string | null;
  /** Where the IdP publishes its metadata (https): read now (a failure refuses the change) and every day after; `null` stops it. */
  idpMetadataUrl?: string | null;
  idpEntityId?: string | null;
  idpSsoUrl?: string | null;
  idpCertificates?: string[] | null;
  allowIdpInitiated?: boolean | null;
  /** The application IdP-initiated sign-ins go to (`app_…`, with an `initiateLoginUri`); `null` clears it. */
  idpInitiatedApplicationId?: string | null;
  requireSignedAssertion?: boolean | null;
  allowSha1?: boolean | null;
}

export interface OidcSettingsInput extends CommonInput {
  issuer?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
  scopes?: string[] | null;
}

function applyCommon(connection: SsoConnection, input: CommonInput): void {
  if (input.name != null) connection.name = checkName(input.name, ['input', 'name']);
  if (input.provider != null) connection.provider = input.provider;
  if (input.status != null) connection.status = input.status;
  if (input.allowGuestDomains != null) connection.allowGuestDomains = input.allowGuestDomains;
}

function applySaml(connection: SsoConnection, input: SamlSettingsInput): void {
  applyCommon(connection, input);
  if (input.idpMetadataXml != null) applyIdpMetadata(connection, input.idpMetadataXml, ['input', 'idpMetadataXml']);
  if (input.idpEntityId !== undefined) connection.idpEntityId = input.idpEntityId === null ? null : checkEntityId(input.idpEntityId, ['input', 'idpEntityId']);
  if (input.idpSsoUrl !== undefined) connection.idpSsoUrl = input.idpSsoUrl === null ? null : checkIdpUrl(input.idpSsoUrl, ['input', 'idpSsoUrl']);
  if (input.idpCertificates != null) connection.idpCertificates = keepWarnings(connection, checkIdpCertificates(input.idpCertificates, ['input', 'idpCertificates']));
  if (input.allowIdpInitiated != null) connection.allowIdpInitiated = input.allowIdpInitiated;
  if (input.requireSignedAssertion != null) connection.requireSignedAssertion = input.requireSignedAssertion;
  if (input.allowSha1 != null) connection.allowSha1 = input.allowSha1;
}

function applyOidc(connection: SsoConnection, input: OidcSettingsInput, box: SecretBox): void {
  applyCommon(connection, input);
  if (input.issuer !== undefined) connection.oidcIssuer = input.issuer === null ? null : checkIdpUrl(input.issuer, ['input', 'issuer']).replace(/\/$/, '');
  if (input.clientId !== undefined) connection.oidcClientId = input.clientId === null ? null : checkCredential(input.clientId, ['input', 'clientId'], 'The client id');
  if (input.clientSecret !== undefined) {
    connection.oidcClientSecretSealed = input.clientSecret === null ? null : box.seal(checkCredential(input.clientSecret, ['input', 'clientSecret'], 'The client secret'), secretBinding(connection.id));
  }
  if (input.scopes != null) connection.oidcScopes = checkOidcScopes(input.scopes, ['input', 'scopes']);
}

/** The sealed client secret is bound to its connection: copied to another row, it opens nowhere. */
export const secretBinding = (connectionId: string) => `sso_connection:${connectionId}:client_secret`;

async function createConnection(
  ctx: ServiceContext,
  input: CommonInput & { organizationId: string; name: string },
  type: SsoConnectionType,
  apply: (connection: SsoConnection) => void,
): Promise<SsoConnection> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const organization = await new OrganizationRepository(em).get(input.organizationId);
    const connection = new SsoConnection();
    Object.assign(connection, {
      id: newId('ssoConnection'),
      environmentId: organization.environmentId,
      organizationId: organization.id,
      name: checkName(input.name, ['input', 'name']),
      type,
      provider: input.provider ?? SsoProvider.GENERIC,
      oidcScopes: type === SsoConnectionType.OIDC ? ['email', 'openid', 'profile'] : [],
    });
    apply(connection);
    await applyReferences(em, connection, input);
    checkActivatable(connection);
    em.persist(connection);
    audit(ctx, em, { action: 'connection.created', environmentId: connection.environmentId, organizationId: connection.organizationId, targets: [connectionTarget(connection)], after: snapshotConnection(connection) });
    return connection;
  });
}

async function updateConnection(ctx: ServiceContext, input: CommonInput & { id: string }, type: SsoConnectionType, apply: (connection: SsoConnection) => void): Promise<SsoConnection> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const connection = await new SsoConnectionRepository(em).lock(input.id);
    // A SIMULATOR connection is a SAML one: its name, status, mappings and trust settings change alike.
    const sameKind = connection.type === type || (type === SsoConnectionType.SAML && connection.type === SsoConnectionType.SIMULATOR);
    if (!sameKind) throw invalid('sso_connection.wrong_type', `This is a ${connection.type} connection`, ['input', 'id']);
    const before = snapshotConnection(connection);
    const idp = connection.idpEntityId ?? connection.oidcIssuer;
    apply(connection);
    await applyReferences(em, connection, input);
    checkActivatable(connection);
    // Another IdP behind the same connection: its subjects are not the old one's people.
    if ((connection.idpEntityId ?? connection.oidcIssuer) !== idp) await new SsoIdentityLinkRepository(em).deleteOfConnection(connection.id);
    audit(ctx, em, {
      action: 'connection.updated',
      environmentId: connection.environmentId,
      organizationId: connection.organizationId,
      targets: [connectionTarget(connection)],
      before,
      after: snapshotConnection(connection),
    });
    return connection;
  });
}

/**
 * The metadata an input's `idpMetadataUrl` points at, fetched before any transaction (an IdP
 * may take seconds); undefined when the input does not name one. A URL that gives no usable
 * document refuses the change.
 */
async function prefetchMetadata(input: SamlSettingsInput, fetch: typeof globalThis.fetch): Promise<{ url: string | null; xml: string | null } | undefined> {
  if (input.idpMetadataUrl === undefined) return undefined;
  if (input.idpMetadataUrl === null) return { url: null, xml: null };
  const field = ['input', 'idpMetadataUrl'];
  const url = checkIdpUrl(input.idpMetadataUrl, field);
  const fetched = await fetchIdpMetadata(fetch, url);
  if ('error' in fetched) throw invalid('sso_connection.metadata_unavailable', `Cannot use the metadata URL: ${fetched.error}`, field);
  return { url, xml: fetched.xml };
}

function applyFetchedMetadata(connection: SsoConnection, fetched: { url: string | null; xml: string | null } | undefined): void {
  if (!fetched) return;
  connection.idpMetadataUrl = fetched.url;
  connection.idpMetadataError = null;
  connection.idpMetadataFetchedAt = fetched.url ? new Date() : null;
  if (fetched.xml !== null) applyIdpMetadata(connection, fetched.xml, ['input', 'idpMetadataUrl']);
}

export async function createSamlConnection(ctx: ServiceContext, input: SamlSettingsInput & { organizationId: string; name: string }, fetch: typeof globalThis.fetch): Promise<SsoConnection> {
  const fetched = await prefetchMetadata(input, fetch);
  return createConnection(ctx, input, SsoConnectionType.SAML, (connection) => {
    applyFetchedMetadata(connection, fetched);
    applySaml(connection, input);
  });
}

/** What Gatehouse sets on a SIMULATOR connection and keeps: the simulated IdP is its own. */
const SIMULATOR_MANAGED = ['idpMetadataXml', 'idpMetadataUrl', 'idpEntityId', 'idpSsoUrl', 'idpCertificates'] as const;

export async function updateSamlConnection(ctx: ServiceContext, input: SamlSettingsInput & { id: string }, fetch: typeof globalThis.fetch): Promise<SsoConnection> {
  const fetched = await prefetchMetadata(input, fetch);
  return updateConnection(ctx, input, SsoConnectionType.SAML, (connection) => {
    if (connection.type === SsoConnectionType.SIMULATOR) {
      const managed = SIMULATOR_MANAGED.find((name) => input[name] !== undefined);
      if (managed) throw invalid('sso_connection.simulator_managed', 'The simulated IdP\'s entity id, SSO URL and certificate are Gatehouse\'s own', ['input', managed]);
    }
    applyFetchedMetadata(connection, fetched);
    applySaml(connection, input);
  });
}

export function createOidcConnection(ctx: ServiceContext, box: SecretBox, input: OidcSettingsInput & { organizationId: string; name: string }): Promise<SsoConnection> {
  return createConnection(ctx, input, SsoConnectionType.OIDC, (connection) => applyOidc(connection, input, box));
}

export function updateOidcConnection(ctx: ServiceContext, box: SecretBox, input: OidcSettingsInput & { id: string }): Promise<SsoConnection> {
  return updateConnection(ctx, input, SsoConnectionType.OIDC, (connection) => applyOidc(connection, input, box));
}

export async function deleteSsoConnection(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const connections = new SsoConnectionRepository(em);
    const connection = await connections.lock(input.id);
    await connections.delete(connection.id);
    audit(ctx, em, { action: 'connection.deleted', environmentId: connection.environmentId, organizationId: connection.organizationId, targets: [connectionTarget(connection)], before: snapshotConnection(connection) });
    return connection.id;
  });
}

/**
 * A connection of this type for the SSO endpoints, read through `em` (scoped to the environment
 * the URL names); null when there is none there. SAML finds SIMULATOR connections too (see
 * `speaksSaml`). Any status: an IdP admin imports the SP metadata of a DRAFT connection before
 * it is switched on.
 */
export async function findConnection(em: EntityManager, id: string, type: SsoConnectionType): Promise<SsoConnection | null> {
  if (!isIdOf('ssoConnection', id)) return null;
  const connection = await new SsoConnectionRepository(em).find(id);
  if (!connection) return null;
  return connection.type === type || (type === SsoConnectionType.SAML && speaksSaml(connection.type)) ? connection : null;
}
