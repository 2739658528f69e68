import { LockMode, QueryOrder, type EntityManager } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { sql } from '../../db/sql.js';
import { environmentsOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { SocialConnection, SocialIdentityLink } from './social-connection.entity.js';

/** Social connections of the scope's environments. */
export class SocialConnectionRepository extends Repository<SocialConnection> {
  constructor(em: EntityManager) {
    super(em, SocialConnection, 'social_connection');
  }

  page(environmentId: string, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, SocialConnection, { environmentId }, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /**
   * Serialises the creation of an environment's social connections until the transaction ends,
   * so the cap holds under concurrency. Runs inside the EntityManager's transaction.
   */
  async lockEnvironment(environmentId: string): Promise<void> {
    const environments = environmentsOf(this.em);
    if (environments && !environments.includes(environmentId)) throw new TenantScopeViolation(`Refused to lock social connections of environment ${environmentId} outside the caller's tenant scope`);
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`social_connections:${environmentId}`]);
  }

  /** The connection as committed, share-locked until the transaction ends (a change waits for it); null when gone. */
  readLocked(id: string): Promise<SocialConnection | null> {
    return this.em.findOne(SocialConnection, { id }, { lockMode: LockMode.PESSIMISTIC_READ, refresh: true });
  }

  countOf(environmentId: string): Promise<number> {
    return this.em.count(SocialConnection, { environmentId });
  }

  /** The buttons of the sign-in page: enabled connections, oldest first. */
  enabledOf(environmentId: string): Promise<SocialConnection[]> {
    return this.em.find(SocialConnection, { environmentId, enabled: true }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }
}

/** Links of social providers' subjects to users. */
export class SocialIdentityLinkRepository extends Repository<SocialIdentityLink> {
  constructor(em: EntityManager) {
    super(em, SocialIdentityLink, 'social_identity');
  }

  /** The links of these users, most recently used first. */
  ofUsers(userIds: readonly string[]): Promise<SocialIdentityLink[]> {
    return this.em.find(SocialIdentityLink, { userId: { $in: [...userIds] } }, { orderBy: { lastSignedInAt: QueryOrder.DESC_NULLS_LAST, id: QueryOrder.ASC } });
  }

  of(connectionId: string, subject: string): Promise<SocialIdentityLink | null> {
    return this.em.findOne(SocialIdentityLink, { connectionId, subject });
  }

  deleteOfConnection(connectionId: string): Promise<number> {
    return this.em.nativeDelete(SocialIdentityLink, { connectionId });
  }
}
