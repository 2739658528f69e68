import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { Organization, OrganizationDomain } from './organization.entity.js';
import { OrganizationDomainRepository, OrganizationRepository } from './organization.repository.js';

export interface OrganizationLoaders {
  organization: DataLoader<string, Organization | null>;
  domainsByOrganization: DataLoader<string, OrganizationDomain[]>;
}

/** Per-request batch loaders of organizations and their domains (plain read-only rows). */
export function organizationLoaders(em: EntityManager, options: LoaderOptions): OrganizationLoaders {
  const organizations = new OrganizationRepository(em);
  const domains = new OrganizationDomainRepository(em);
  return {
    organization: new DataLoader((ids) => organizations.rowsById(ids), { batch: options.batch }),
    domainsByOrganization: new DataLoader((ids) => domains.rowsByOrganization(ids), { batch: options.batch }),
  };
}
