import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { preparedSql, sql, tableOf } from '../../db/sql.js';
import { embeddedRow, entityCondition, managedRow } from '../../db/rows.js';
import { User } from '../user/user.entity.js';
import { UserSession } from './session.entity.js';

export interface SessionFilter {
  environmentId: string;
  userId?: string | null;
  organizationId?: string | null;
  /** Only sessions that have not ended or expired at this time. */
  liveAt?: Date | null;
}

export class UserSessionRepository extends Repository<UserSession> {
  constructor(em: EntityManager) {
    super(em, UserSession, 'session');
  }

  /** The session of a cookie's token, locked for the request that uses it; null when unknown. */
  async byTokenHash(tokenHash: string): Promise<UserSession | null> {
    // Its user comes along (into the identity map, fresh): what reads the session next reads them.
    const scope = entityCondition(this.em, UserSession, 's');
    const user = embeddedRow(this.em, User, 's."user_id"');
    const [row] = await preparedSql<Record<string, unknown>>(
      this.em,
      `select s.*, ${user.sql} as "_user" from "${tableOf(this.em, UserSession)}" s where s."token_hash" = ?${scope.sql} limit 1`,
      [...user.params, tokenHash, ...scope.params],
    );
    if (!row) return null;
    const { _user, ...session } = row;
    managedRow(this.em, User, _user as Record<string, unknown> | null);
    return managedRow(this.em, UserSession, session, true);
  }

  page(filter: SessionFilter, sort: Sort, args: PageArgs, maxPageSize: number) {
    const where: Record<string, unknown> = { environmentId: filter.environmentId };
    if (filter.userId) where.userId = filter.userId;
    if (filter.organizationId) where.organizationIds = { $contains: [filter.organizationId] };
    if (filter.liveAt) Object.assign(where, { endedAt: null, expiresAt: { $gt: filter.liveAt }, absoluteExpiresAt: { $gt: filter.liveAt } });
    return paginate(this.em, UserSession, where, sort, args, maxPageSize);
  }

  /** Live sessions of a user (optionally only those used with an organization), locked to end them. */
  liveOfUser(userId: string, organizationId?: string): Promise<UserSession[]> {
    const where: Record<string, unknown> = { userId, endedAt: null };
    if (organizationId) where.organizationIds = { $contains: [organizationId] };
    return this.em.find(UserSession, where, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true, orderBy: { id: 'asc' } });
  }

  lockLive(id: string): Promise<UserSession | null> {
    return this.em.findOne(UserSession, { id, endedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** Forgets sessions that ended or expired before `before` (a system job). */
  async deleteEndedBefore(before: Date): Promise<number> {
    const table = tableOf(this.em, UserSession);
    const rows = await sql(
      this.em,
      `delete from "${table}" where ("ended_at" < ? or "expires_at" < ? or "absolute_expires_at" < ?) returning 1`,
      [before, before, before],
    );
    return rows.length;
  }
}
