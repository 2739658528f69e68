import { LockMode, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { notFound } from '../../errors/app-error.js';
import { Environment } from '../environment/environment.entity.js';
import { ApiKey } from './api-key.entity.js';

/** Which keys a caller sees: its workspace's, or only those pinned to its environment. */
export interface KeyVisibility {
  workspaceId: string;
  environmentId?: string;
}

export type KeyWithReach = Pick<ApiKey, 'id' | 'name' | 'workspaceId' | 'environmentId' | 'scopes' | 'lastUsedAt' | 'expiresAt' | 'revokedAt'> & {
  environmentIds: string[];
};

/** API keys of the EntityManager's workspace (or of every workspace, for authentication). */
export class ApiKeyRepository extends Repository<ApiKey> {
  constructor(em: EntityManager) {
    super(em, ApiKey, 'api_key');
  }

  /** The key if the caller sees it, or NOT_FOUND. */
  async getVisible(id: string, visibility: KeyVisibility): Promise<ApiKey> {
    const key = await this.em.findOne(ApiKey, { id, ...visibility });
    if (!key) throw notFound('api_key', id);
    return key;
  }

  /** The key if the caller sees it, locked for a change inside the change's transaction, or NOT_FOUND. */
  async lockVisible(id: string, visibility: KeyVisibility): Promise<ApiKey> {
    const key = await this.em.findOne(ApiKey, { id, ...visibility }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!key) throw notFound('api_key', id);
    return key;
  }

  /** The keys the caller sees, newest first. */
  list(visibility: KeyVisibility, filter: { environmentId?: string | null; revoked?: boolean | null }, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<ApiKey>[] = [visibility];
    if (filter.environmentId) where.push({ environmentId: filter.environmentId });
    if (filter.revoked != null) where.push({ revokedAt: filter.revoked ? { $ne: null } : null });
    return paginate(this.em, ApiKey, { $and: where }, { field: 'createdAt', direction: 'DESC' }, args, maxPageSize);
  }

  /** Stamps the key as used (outside any transaction of the request). */
  async touch(id: string, at: Date): Promise<void> {
    await this.em.nativeUpdate(ApiKey, { id }, { lastUsedAt: at });
  }

  /**
   * The key with this hash and the environments it reaches, in one round trip: this runs
   * before every API request, on a system EntityManager (the caller's tenant is what it finds
   * out); on a tenant one it only finds the scope's workspace's keys.
   */
  async findWithReach(secretHash: string): Promise<KeyWithReach | null> {
    const scope = entityCondition(this.em, ApiKey, 'k');
    const rows = await sql(
      this.em,
      `select k.*, array(select e."id" from "${tableOf(this.em, Environment)}" e where e."workspace_id" = k."workspace_id"` +
        ` and (k."environment_id" is null or e."id" = k."environment_id") order by e."created_at", e."id") as "environment_ids"` +
        ` from "${tableOf(this.em, ApiKey)}" k where k."secret_hash" = ?${scope.sql}`,
      [secretHash, ...scope.params],
    );
    if (!rows.length) return null;
    return { ...rowMapper(this.em, ApiKey)(rows[0]), environmentIds: rows[0].environment_ids as string[] };
  }
}
