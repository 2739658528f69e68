import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { Consent } from './consent.entity.js';

export class ConsentRepository extends Repository<Consent> {
  constructor(em: EntityManager) {
    super(em, Consent, 'consent');
  }

  of(userId: string, clientId: string): Promise<Consent | null> {
    return this.em.findOne(Consent, { userId, clientId });
  }

  lockOf(userId: string, clientId: string): Promise<Consent | null> {
    return this.em.findOne(Consent, { userId, clientId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** A user's consents that let applications act with their membership of `organizationId`, locked for the change. */
  withOrganization(userId: string, organizationId: string): Promise<Consent[]> {
    return this.em.find(Consent, { userId, organizationIds: { $contains: [organizationId] } }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  page(filter: { environmentId: string; userId?: string | null; clientId?: string | null }, sort: Sort, args: PageArgs, maxPageSize: number) {
    const where: Record<string, unknown> = { environmentId: filter.environmentId };
    if (filter.userId) where.userId = filter.userId;
    if (filter.clientId) where.clientId = filter.clientId;
    return paginate(this.em, Consent, where, sort, args, maxPageSize);
  }
}
