import { raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, groupByParent, rowMapper, rowsById } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';
import { DomainState, Organization, OrganizationDomain } from './organization.entity.js';

export interface OrganizationListQuery {
  environmentId: string;
  externalId?: string | null;
  /** Lower-case, without a trailing dot. */
  domain?: string | null;
  namePrefix?: string | null;
}

/** Escapes LIKE wildcards so a prefix matches literally. */
const likePrefix = (prefix: string) => `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Organizations of the EntityManager's tenant scope. */
export class OrganizationRepository extends Repository<Organization> {
  constructor(em: EntityManager) {
    super(em, Organization, 'organization');
  }

  findByExternalId(environmentId: string, externalId: string): Promise<Organization | null> {
    return this.em.findOne(Organization, { environmentId, externalId });
  }

  async list(query: OrganizationListQuery, sort: Sort, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<Organization>[] = [{ environmentId: query.environmentId }];
    if (query.externalId != null) where.push({ externalId: query.externalId });
    if (query.domain != null) {
      const owners = await this.em.find(OrganizationDomain, { environmentId: query.environmentId, domain: query.domain }, { fields: ['organizationId'] });
      where.push({ id: { $in: owners.map((row) => row.organizationId) } });
    }
    const { namePrefix } = query;
    // A raw() fragment is consumed by the query that uses it: build a fresh one per query
    // (the page and, when asked, the count).
    const conditions = (): FilterQuery<Organization> => ({
      $and: namePrefix ? [...where, { [raw((alias) => `lower(${alias}.name)`)]: { $like: likePrefix(namePrefix) } }] : where,
    });
    return paginate(this.em, Organization, conditions, sort, args, maxPageSize);
  }

  /** The service accounts of an organization (named in its deletion event). */
  serviceAccountsOf(organizationId: string): Promise<Pick<OAuthClient, 'id' | 'name'>[]> {
    return this.em.find(OAuthClient, { organizationId }, { fields: ['id', 'name'] });
  }

  /** Organizations by id as plain read-only rows, for the GraphQL loaders. */
  rowsById(ids: readonly string[]): Promise<(Organization | null)[]> {
    return rowsById(this.em, Organization, ids);
  }
}

/** Email domains of organizations of the EntityManager's tenant scope. */
export class OrganizationDomainRepository extends Repository<OrganizationDomain> {
  constructor(em: EntityManager) {
    super(em, OrganizationDomain, 'organization_domain');
  }

  countOf(organizationId: string): Promise<number> {
    return this.em.count(OrganizationDomain, { organizationId });
  }

  /** The organization that verified `domain` in the environment, or null. */
  async verifiedOwner(environmentId: string, domain: string): Promise<string | null> {
    const found = await this.em.findOne(OrganizationDomain, { environmentId, domain, state: DomainState.VERIFIED }, { fields: ['organizationId'] });
    return found?.organizationId ?? null;
  }

  /** Whether the organization that verified the domain of `email` requires SSO of its people. */
  async ssoRequiredFor(environmentId: string, email: string): Promise<boolean> {
    const owner = await this.verifiedOwner(environmentId, email.slice(email.lastIndexOf('@') + 1).toLowerCase());
    if (!owner) return false;
    const organization = await this.em.findOne(Organization, { id: owner }, { fields: ['requireSso'] });
    return organization?.requireSso === true;
  }

  /** The verified domain names of an organization. */
  async verifiedNamesOf(organizationId: string): Promise<string[]> {
    const domains = await this.em.find(OrganizationDomain, { organizationId, state: DomainState.VERIFIED }, { fields: ['domain'] });
    return domains.map((domain) => domain.domain);
  }

  /** The domain names of an organization. */
  async namesOf(organizationId: string): Promise<string[]> {
    const domains = await this.em.find(OrganizationDomain, { organizationId }, { fields: ['domain'] });
    return domains.map((domain) => domain.domain);
  }

  /** The domains of many organizations in one statement, ordered by name, as plain read-only rows. */
  async rowsByOrganization(organizationIds: readonly string[]): Promise<OrganizationDomain[][]> {
    if (!organizationIds.length) return [];
    const scope = entityCondition(this.em, OrganizationDomain, 'd');
    const rows = await sql(
      this.em,
      `select d.*, d."organization_id" as "_parent" from "${tableOf(this.em, OrganizationDomain)}" d` +
        ` where d."organization_id" = any(?::text[])${scope.sql} order by d."domain"`,
      [[...organizationIds], ...scope.params],
    );
    return groupByParent(organizationIds, rows, rowMapper(this.em, OrganizationDomain));
  }
}
