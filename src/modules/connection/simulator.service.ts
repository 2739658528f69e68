import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { randomToken } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import { conflict, invalid } from '../../errors/app-error.js';
import { EnvironmentKind } from '../environment/environment.entity.js';
import { EnvironmentRepository } from '../environment/environment.repository.js';
import { issuerFor } from '../environment/issuer.js';
import { DomainState, type Organization } from '../organization/organization.entity.js';
import { OAuthClientRepository } from '../oauth-client/oauth-client.repository.js';
import { OrganizationDomainRepository, OrganizationRepository } from '../organization/organization.repository.js';
import { snapshotOrganization } from '../organization/organization.service.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { SsoConnection, SsoConnectionStatus, SsoConnectionType, SsoProvider } from './connection.entity.js';
import { SamlRequestRepository, SsoConnectionRepository } from './connection.repository.js';
import { connectionTarget, findConnection, snapshotConnection } from './connection.service.js';
import { samlServiceProvider } from './connection.urls.js';
import { checkIdpCertificates } from './connection.validation.js';
import { buildSimulatedResponse, generateSimulatorKey, type SimulatedPerson, type SimulatorKey, type SimulatorScenario } from './simulator-idp.js';
import type { SsoEnvironment } from './saml-sign-in.service.js';

/** The built-in test organization of a DEVELOPMENT environment, found again by its external id. */
export const SIMULATED_ORGANIZATION = {
  name: 'Simulated Customer',
  externalId: 'gatehouse:simulated-customer',
  /** Reserved for documentation (RFC 2606): nobody's real customers sign in with them. */
  domains: ['example.com', 'example.org'],
} as const;

/** The sealed simulator key is bound to its connection: copied to another row, it opens nowhere. */
export const simulatorKeyBinding = (connectionId: string) => `sso_connection:${connectionId}:simulator_key`;

/** The simulated IdP's page (its SSO URL) and entity id, under the environment's issuer. */
export const simulatorUrl = (issuer: string, connectionId: string) => `${issuer}/sso/simulator/${connectionId}`;

export interface SimulatorSetup {
  ssoConnection: SsoConnection;
  organization: Organization;
}

/**
 * The IdP simulator of a DEVELOPMENT environment: the built-in organization "Simulated
 * Customer" (verified domains example.com and example.org) with an ACTIVE SIMULATOR connection,
 * a SAML connection whose IdP is Gatehouse's simulator page, signing with a key of its own.
 * Created once; later calls return what exists. Audited as `organization.created` (with the
 * domains) and `connection.created`.
 */
export async function createSimulatorConnection(ctx: ServiceContext, box: SecretBox, publicUrl: string, input: { environmentId?: string | null }): Promise<SimulatorSetup> {
  requireScope(ctx.principal, 'organizations:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const environment = await new EnvironmentRepository(ctx.em).getInWorkspace(ctx.principal.workspaceId, environmentId);
  if (environment.kind !== EnvironmentKind.DEVELOPMENT) {
    throw invalid('sso_connection.simulator_development_only', 'The IdP simulator signs in anyone it is told to: it exists in DEVELOPMENT environments only', ['input', 'environmentId']);
  }
  const existing = await existingSimulator(ctx.em, environmentId);
  if (existing) return existing;
  // The key is made before the transaction: it takes a moment, and no connection waits on it.
  const id = newId('ssoConnection');
  const key = await generateSimulatorKey(`Gatehouse IdP simulator ${id}`);
  return inTransaction(ctx, async (em) => {
    // One simulator per environment: concurrent calls queue on the environment's row.
    await new EnvironmentRepository(em).lockInWorkspace(ctx.principal.workspaceId, environmentId);
    const again = await existingSimulator(em, environmentId);
    if (again) return again;
    const organization = await simulatedOrganization(ctx, em, environmentId);
    const url = simulatorUrl(issuerFor(publicUrl, environmentId), id);
    const connection = new SsoConnection();
    Object.assign(connection, {
      id,
      environmentId,
      organizationId: organization.id,
      name: 'IdP simulator',
      type: SsoConnectionType.SIMULATOR,
      provider: SsoProvider.GENERIC,
      status: SsoConnectionStatus.ACTIVE,
      idpEntityId: url,
      idpSsoUrl: url,
      idpCertificates: checkIdpCertificates([key.certificate], ['input']),
      allowIdpInitiated: true,
      requireSignedAssertion: true,
      simulatorKeySealed: box.seal(key.privateKey, simulatorKeyBinding(id)),
    });
    em.persist(connection);
    audit(ctx, em, { action: 'connection.created', environmentId, organizationId: organization.id, targets: [connectionTarget(connection)], after: snapshotConnection(connection) });
    return { ssoConnection: connection, organization };
  });
}

async function existingSimulator(em: EntityManager, environmentId: string): Promise<SimulatorSetup | null> {
  const connection = await new SsoConnectionRepository(em).simulatorOf(environmentId);
  if (!connection) return null;
  return { ssoConnection: connection, organization: await new OrganizationRepository(em).get(connection.organizationId) };
}

const orgTarget = (organization: Organization) => ({ type: 'organization', id: organization.id, name: organization.name });

/**
 * The simulated organization with both its domains verified: found by its external id, or
 * created. A domain another organization of the environment holds (in any state) is a conflict
 * the developer resolves: two organizations cannot share a domain.
 */
async function simulatedOrganization(ctx: ServiceContext, em: EntityManager, environmentId: string): Promise<Organization> {
  const organizations = new OrganizationRepository(em);
  const domains = new OrganizationDomainRepository(em);
  const found = await organizations.findByExternalId(environmentId, SIMULATED_ORGANIZATION.externalId);
  const own = found ? ((await domains.rowsByOrganization([found.id]))[0] ?? []) : [];
  const missing: string[] = [];
  for (const name of SIMULATED_ORGANIZATION.domains) {
    if (own.some((domain) => domain.domain === name)) continue;
    const { nodes } = await organizations.list({ environmentId, domain: name }, { field: 'createdAt', direction: 'ASC' }, { first: 1 }, 1);
    if (nodes[0]) {
      throw conflict(
        'sso_connection.simulator_domain_taken',
        `The simulated organization needs the domains ${SIMULATED_ORGANIZATION.domains.join(' and ')}, but ${name} belongs to the organization "${nodes[0].name}" (${nodes[0].id}) of this environment. Remove it there, then try again.`,
        ['input', 'environmentId'],
      );
    }
    missing.push(name);
  }
  const now = new Date();
  const newDomain = (organizationId: string, domain: string) =>
    domains.create({
      id: newId('domain'),
      environmentId,
      organizationId,
      domain,
      state: DomainState.VERIFIED,
      verificationToken: `gatehouse-verification=${randomToken(32)}`,
      verifiedAt: now,
    });

  if (!found) {
    const organization = organizations.create({
      id: newId('organization'),
      environmentId,
      name: SIMULATED_ORGANIZATION.name,
      externalId: SIMULATED_ORGANIZATION.externalId,
      metadata: { gatehouseSimulator: true },
      requireSso: false,
    });
    for (const name of missing) newDomain(organization.id, name);
    audit(ctx, em, { action: 'organization.created', environmentId, organizationId: organization.id, targets: [orgTarget(organization)], after: { ...snapshotOrganization(organization), domains: missing } });
    return organization;
  }
  // The organization was kept (its connection deleted, say): its domains are put back as they were made.
  for (const name of missing) {
    const domain = newDomain(found.id, name);
    audit(ctx, em, {
      action: 'organization.domain_added',
      environmentId,
      organizationId: found.id,
      targets: [orgTarget(found), { type: 'organization_domain', id: domain.id, name }],
      after: { id: domain.id, organizationId: found.id, domain: name, state: domain.state },
    });
  }
  for (const row of own) {
    if (!(SIMULATED_ORGANIZATION.domains as readonly string[]).includes(row.domain) || row.state === DomainState.VERIFIED) continue;
    const domain = await domains.lock(row.id);
    const before = { id: domain.id, organizationId: domain.organizationId, domain: domain.domain, state: domain.state };
    domain.state = DomainState.VERIFIED;
    domain.verifiedAt = now;
    audit(ctx, em, {
      action: 'organization.domain_updated',
      environmentId,
      organizationId: found.id,
      targets: [orgTarget(found), { type: 'organization_domain', id: domain.id, name: domain.domain }],
      before,
      after: { ...before, state: domain.state },
    });
  }
  return found;
}

/** The simulated IdP's key: the sealed private key and the certificate the connection trusts. */
export function simulatorKeyOf(box: SecretBox, connection: SsoConnection): SimulatorKey | null {
  if (connection.type !== SsoConnectionType.SIMULATOR || !connection.simulatorKeySealed || !connection.idpCertificates.length) return null;
  return { privateKey: box.open(connection.simulatorKeySealed, simulatorKeyBinding(connection.id)), certificate: connection.idpCertificates[0]!.pem };
}

/**
 * The simulated IdP's answer to a request of this connection (base64, as the HTTP-POST binding
 * carries it), made as the scenario says, for the connection's own ACS: never another address.
 */
export async function simulateSamlResponse(
  env: SsoEnvironment,
  connection: SsoConnection,
  key: SimulatorKey,
  input: { scenario: SimulatorScenario; inResponseTo: string | null; person: SimulatedPerson },
): Promise<{ acsUrl: string; samlResponse: string }> {
  const { spEntityId, acsUrl } = samlServiceProvider(env.issuer, connection.id);
  const xml = await buildSimulatedResponse({ ...input, idpEntityId: connection.idpEntityId!, spEntityId, acsUrl, key });
  return { acsUrl, samlResponse: Buffer.from(xml, 'utf8').toString('base64') };
}

/** A SIMULATOR connection of the environment `em` is scoped to, with its organization's name; null when there is none. */
export async function findSimulator(em: EntityManager, id: string): Promise<{ connection: SsoConnection; organizationName: string } | null> {
  const connection = await findConnection(em, id, SsoConnectionType.SIMULATOR);
  if (!connection) return null;
  const organization = await new OrganizationRepository(em).find(connection.organizationId);
  return { connection, organizationName: organization?.name ?? SIMULATED_ORGANIZATION.name };
}

/** The sign-in flow a pending SAML request (its RelayState) was sent for, if it is one of this connection's. */
export async function flowOfSamlRequest(em: EntityManager, connectionId: string, samlRequestId: string): Promise<string | null> {
  if (!/^sar_[0-9a-hjkmnp-tv-z]{26}$/.test(samlRequestId)) return null;
  const pending = await new SamlRequestRepository(em).find(samlRequestId);
  return pending?.connectionId === connectionId ? pending.flowId : null;
}

/** Where an IdP-initiated sign-in through the connection hands over (its application's initiateLoginUri), if anywhere. */
export async function idpInitiatedTarget(em: EntityManager, connection: SsoConnection): Promise<string | null> {
  if (!connection.allowIdpInitiated || !connection.idpInitiatedApplicationId) return null;
  const application = await new OAuthClientRepository(em, 'application').find(connection.idpInitiatedApplicationId);
  return application?.enabled ? application.initiateLoginUri : null;
}
