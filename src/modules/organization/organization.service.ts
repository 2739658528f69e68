import { requireScope } from '../../auth/principal.js';
import { randomToken } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import type { PageArgs, Sort } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { MembershipRepository } from '../membership/membership.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import type { UserSession } from '../session/session.entity.js';
import { endAccessOfUser, endedSessionTargets } from '../session/session.service.js';
import { checkDomain, checkExternalId, checkMetadata, checkName } from '../validation.js';
import { verificationRecordName, type TxtResolver } from './domain-verification.js';
import { DomainState, type Organization, type OrganizationDomain } from './organization.entity.js';
import { OrganizationDomainRepository, OrganizationRepository } from './organization.repository.js';

export const MAX_DOMAINS_PER_ORGANIZATION = 100;

export const snapshotOrganization = (org: Organization) => ({
  id: org.id,
  name: org.name,
  externalId: org.externalId,
  metadata: org.metadata,
  requireSso: org.requireSso,
});

const snapshotDomain = (domain: OrganizationDomain) => ({
  id: domain.id,
  organizationId: domain.organizationId,
  domain: domain.domain,
  state: domain.state,
});

const orgTarget = (org: Organization) => ({ type: 'organization', id: org.id, name: org.name });

export interface OrganizationFilter {
  namePrefix?: string | null;
  externalId?: string | null;
  domain?: string | null;
}

export async function getOrganization(ctx: ServiceContext, id: string): Promise<Organization> {
  requireScope(ctx.principal, 'organizations:read');
  return new OrganizationRepository(ctx.em).get(id);
}

export async function getOrganizationByExternalId(
  ctx: ServiceContext,
  environmentId: string | null | undefined,
  externalId: string,
): Promise<Organization | null> {
  requireScope(ctx.principal, 'organizations:read');
  return new OrganizationRepository(ctx.em).findByExternalId(environmentFor(ctx, environmentId), externalId);
}

export async function listOrganizations(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: OrganizationFilter | null; sort: Sort },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'organizations:read');
  const environmentId = environmentFor(ctx, query.environmentId);
  const filter = query.filter ?? {};
  const domain = filter.domain != null ? filter.domain.trim().toLowerCase().replace(/\.$/, '') : null;
  return new OrganizationRepository(ctx.em).list(
    { environmentId, externalId: filter.externalId, domain, namePrefix: filter.namePrefix },
    query.sort,
    args,
    maxPageSize,
  );
}

export interface DomainInput {
  domain: string;
  state?: DomainState | null;
}

function newDomain(environmentId: string, organizationId: string, input: DomainInput, field: string[]) {
  const state = input.state ?? DomainState.PENDING;
  return {
    id: newId('domain'),
    environmentId,
    organizationId,
    domain: checkDomain(input.domain, field),
    state,
    verificationToken: `gatehouse-verification=${randomToken(32)}`,
    verifiedAt: state === DomainState.VERIFIED ? new Date() : null,
  };
}

export async function createOrganization(
  ctx: ServiceContext,
  input: {
    environmentId?: string | null;
    name: string;
    externalId?: string | null;
    metadata?: unknown;
    requireSso?: boolean | null;
    domains?: DomainInput[] | null;
  },
): Promise<Organization> {
  requireScope(ctx.principal, 'organizations:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const values = {
    id: newId('organization'),
    environmentId,
    name: checkName(input.name, ['input', 'name']),
    externalId: checkExternalId(input.externalId, ['input', 'externalId']),
    metadata: checkMetadata(input.metadata, ['input', 'metadata']),
    requireSso: input.requireSso ?? false,
  };
  const domains = (input.domains ?? []).map((domain, index) =>
    newDomain(environmentId, values.id, domain, ['input', 'domains', String(index), 'domain']),
  );
  if (domains.length > MAX_DOMAINS_PER_ORGANIZATION) {
    throw invalid('organization.too_many_domains', `At most ${MAX_DOMAINS_PER_ORGANIZATION} domains`, ['input', 'domains']);
  }
  if (new Set(domains.map((d) => d.domain)).size !== domains.length) {
    throw invalid('organization.duplicate_domain', 'A domain is listed twice', ['input', 'domains']);
  }
  return inTransaction(ctx, async (em) => {
    const organization = new OrganizationRepository(em).create(values);
    const domainRepository = new OrganizationDomainRepository(em);
    for (const domain of domains) domainRepository.create(domain);
    audit(ctx, em, {
      action: 'organization.created',
      environmentId,
      organizationId: organization.id,
      targets: [orgTarget(organization)],
      after: { ...snapshotOrganization(organization), domains: domains.map((d) => d.domain) },
    });
    return organization;
  });
}

export async function updateOrganization(
  ctx: ServiceContext,
  input: { id: string; name?: string | null; externalId?: string | null; metadata?: unknown; requireSso?: boolean | null },
): Promise<Organization> {
  requireScope(ctx.principal, 'organizations:write');
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  // `externalId: null` clears it; leaving it out keeps it.
  const externalId = input.externalId !== undefined ? checkExternalId(input.externalId, ['input', 'externalId']) : undefined;
  const metadata = input.metadata !== undefined ? checkMetadata(input.metadata, ['input', 'metadata']) : undefined;
  return inTransaction(ctx, async (em) => {
    const organization = await new OrganizationRepository(em).lock(input.id);
    const before = snapshotOrganization(organization);
    if (name !== undefined) organization.name = name;
    if (externalId !== undefined) organization.externalId = externalId;
    if (metadata !== undefined) organization.metadata = metadata;
    if (input.requireSso != null) organization.requireSso = input.requireSso;
    audit(ctx, em, {
      action: 'organization.updated',
      environmentId: organization.environmentId,
      organizationId: organization.id,
      targets: [orgTarget(organization)],
      before,
      after: snapshotOrganization(organization),
    });
    return organization;
  });
}

/** Deletes an organization; its domains and memberships go with it and are named in the event. */
export async function deleteOrganization(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const organizations = new OrganizationRepository(em);
    const organization = await organizations.lock(input.id);
    const domains = await new OrganizationDomainRepository(em).namesOf(organization.id);
    const memberships = await new MembershipRepository(em).ofOrganization(organization.id);
    // Its service accounts go with it (and their tokens stop introspecting as active).
    const serviceAccounts = await organizations.serviceAccountsOf(organization.id);
    // Its members' sessions used with it end, and the tokens issued for it are revoked, as when
    // each membership is deleted.
    const ended: UserSession[] = [];
    for (const userId of new Set(memberships.map((m) => m.userId))) {
      ended.push(...(await endAccessOfUser(em, userId, 'membership_removed', organization.id)));
    }
    await organizations.delete(organization.id);
    audit(ctx, em, {
      action: 'organization.deleted',
      environmentId: organization.environmentId,
      organizationId: organization.id,
      targets: [
        orgTarget(organization),
        ...serviceAccounts.map((account) => ({ type: 'service_account', id: account.id, name: account.name })),
        ...endedSessionTargets(ended),
      ],
      before: {
        ...snapshotOrganization(organization),
        domains,
        memberships: memberships.map((m) => ({ id: m.id, userId: m.userId })),
        serviceAccounts: serviceAccounts.map((account) => account.id),
      },
    });
    return organization.id;
  });
}

export async function addOrganizationDomain(
  ctx: ServiceContext,
  input: { organizationId: string } & DomainInput,
): Promise<OrganizationDomain> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    // The lock on the organization serialises concurrent adds, so the cap holds.
    const organization = await new OrganizationRepository(em).lock(input.organizationId);
    const values = newDomain(organization.environmentId, organization.id, input, ['input', 'domain']);
    const domains = new OrganizationDomainRepository(em);
    if ((await domains.countOf(organization.id)) >= MAX_DOMAINS_PER_ORGANIZATION) {
      throw invalid('organization.too_many_domains', `At most ${MAX_DOMAINS_PER_ORGANIZATION} domains`, ['input', 'domain']);
    }
    const domain = domains.create(values);
    audit(ctx, em, {
      action: 'organization.domain_added',
      environmentId: organization.environmentId,
      organizationId: organization.id,
      targets: [orgTarget(organization), { type: 'organization_domain', id: domain.id, name: domain.domain }],
      after: snapshotDomain(domain),
    });
    return domain;
  });
}

export async function removeOrganizationDomain(ctx: ServiceContext, input: { id: string }): Promise<OrganizationDomain> {
  requireScope(ctx.principal, 'organizations:write');
  const domain = await new OrganizationDomainRepository(ctx.em).get(input.id);
  return inTransaction(ctx, async (em) => {
    await new OrganizationDomainRepository(em).delete(domain.id);
    audit(ctx, em, {
      action: 'organization.domain_removed',
      environmentId: domain.environmentId,
      organizationId: domain.organizationId,
      targets: [
        { type: 'organization', id: domain.organizationId },
        { type: 'organization_domain', id: domain.id, name: domain.domain },
      ],
      before: snapshotDomain(domain),
    });
    return domain;
  });
}

export async function getOrganizationDomain(ctx: ServiceContext, id: string): Promise<OrganizationDomain> {
  requireScope(ctx.principal, 'organizations:read');
  return new OrganizationDomainRepository(ctx.em).get(id);
}

/**
 * Checks the DNS proof of a domain: a TXT record `_gatehouse-verification.<domain>` holding the
 * domain's verification token. The lookup runs outside any transaction; the result (VERIFIED
 * or FAILED) is stored and audited either way. A resolver failure (timeout, SERVFAIL) changes
 * nothing and is reported as a user error, since trying again later may succeed.
 */
export async function verifyOrganizationDomain(
  ctx: ServiceContext,
  input: { id: string },
  resolveTxt: TxtResolver,
): Promise<OrganizationDomain> {
  requireScope(ctx.principal, 'organizations:write');
  const found = await new OrganizationDomainRepository(ctx.em).get(input.id);
  let records: string[];
  try {
    records = await resolveTxt(verificationRecordName(found.domain));
  } catch {
    throw invalid('organization.domain_lookup_failed', `Could not look up ${verificationRecordName(found.domain)}; try again later`, [
      'input',
      'id',
    ]);
  }
  return inTransaction(ctx, async (em) => {
    const domain = await new OrganizationDomainRepository(em).lock(input.id);
    const before = snapshotDomain(domain);
    const proven = records.some((record) => record.trim() === domain.verificationToken);
    domain.state = proven ? DomainState.VERIFIED : DomainState.FAILED;
    domain.verifiedAt = proven ? new Date() : null;
    audit(ctx, em, {
      action: proven ? 'organization.domain_verified' : 'organization.domain_verification_failed',
      environmentId: domain.environmentId,
      organizationId: domain.organizationId,
      targets: [{ type: 'organization', id: domain.organizationId }, { type: 'organization_domain', id: domain.id, name: domain.domain }],
      before,
      after: { ...snapshotDomain(domain), record: verificationRecordName(domain.domain), recordsFound: records.length },
    });
    return domain;
  });
}

/** Sets a domain's state by hand: the builder proved ownership some other way, or withdraws it. */
export async function updateOrganizationDomain(
  ctx: ServiceContext,
  input: { id: string; state: DomainState },
): Promise<OrganizationDomain> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const domain = await new OrganizationDomainRepository(em).lock(input.id);
    const before = snapshotDomain(domain);
    domain.state = input.state;
    domain.verifiedAt = input.state === DomainState.VERIFIED ? (domain.verifiedAt ?? new Date()) : null;
    audit(ctx, em, {
      action: 'organization.domain_updated',
      environmentId: domain.environmentId,
      organizationId: domain.organizationId,
      targets: [{ type: 'organization', id: domain.organizationId }, { type: 'organization_domain', id: domain.id, name: domain.domain }],
      before,
      after: snapshotDomain(domain),
    });
    return domain;
  });
}
