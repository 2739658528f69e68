import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { AuthorizationCode, RefreshToken } from './user-token.entity.js';

export class AuthorizationCodeRepository extends Repository<AuthorizationCode> {
  constructor(em: EntityManager) {
    super(em, AuthorizationCode, 'authorization_code');
  }

  /** The code, locked so that two concurrent redemptions run one after the other. */
  lockByHash(codeHash: string): Promise<AuthorizationCode | null> {
    return this.em.findOne(AuthorizationCode, { codeHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** Codes whose access token may still be live, of a user (or of the user with one organization). */
  withLiveAccessTokens(where: { userId: string; organizationId?: string; sessionIds?: string[]; clientId?: string }, now: Date): Promise<AuthorizationCode[]> {
    const filter: FilterQuery<AuthorizationCode> = { userId: where.userId, accessTokenExpiresAt: { $gt: now } };
    if (where.clientId) filter.clientId = where.clientId;
    if (where.organizationId) filter.organizationId = where.organizationId;
    if (where.sessionIds) filter.sessionId = { $in: where.sessionIds };
    return this.em.find(AuthorizationCode, filter);
  }

  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(AuthorizationCode, { expiresAt: { $lt: before }, $or: [{ accessTokenExpiresAt: null }, { accessTokenExpiresAt: { $lt: before } }] });
  }
}

export class RefreshTokenRepository extends Repository<RefreshToken> {
  constructor(em: EntityManager) {
    super(em, RefreshToken, 'refresh_token');
  }

  lockByHash(tokenHash: string): Promise<RefreshToken | null> {
    return this.em.findOne(RefreshToken, { tokenHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** Unrevoked tokens matching `where`, locked to revoke them. */
  unrevoked(where: FilterQuery<RefreshToken>): Promise<RefreshToken[]> {
    return this.em.find(RefreshToken, { $and: [where, { revokedAt: null }] } as FilterQuery<RefreshToken>, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
      orderBy: { id: 'asc' },
    });
  }

  /** Drops families past their absolute expiry: every token of them would be refused anyway. */
  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(RefreshToken, { familyExpiresAt: { $lt: before } });
  }
}
