import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { TrustedIssuer } from './trusted-issuer.entity.js';

/** Issuers whose tokens the scope's environments accept in token exchange. */
export class TrustedIssuerRepository extends Repository<TrustedIssuer> {
  constructor(em: EntityManager) {
    super(em, TrustedIssuer, 'trusted_issuer');
  }

  page(where: FilterQuery<TrustedIssuer>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, TrustedIssuer, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /** Every trusted issuer of the environment. */
  allOf(environmentId: string): Promise<TrustedIssuer[]> {
    return this.em.find(TrustedIssuer, { environmentId });
  }
}
