import type { EntityManager } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { entityCondition, groupByParent, rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { environmentsOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { Environment } from '../environment/environment.entity.js';
import { SigningKey } from './signing-key.entity.js';

/** Token signing keys of the scope's environments. */
export class SigningKeyRepository extends Repository<SigningKey> {
  constructor(em: EntityManager) {
    super(em, SigningKey, 'signing_key');
  }

  /** The environment's keys that are not revoked (`refresh`: read again, not from the identity map). */
  unrevokedOf(environmentId: string, options: { refresh?: boolean } = {}): Promise<SigningKey[]> {
    return this.em.find(SigningKey, { environmentId, revokedAt: null }, options.refresh ? { refresh: true } : {});
  }

  /** Every key of the environment, newest first. */
  listOf(environmentId: string): Promise<SigningKey[]> {
    return this.em.find(SigningKey, { environmentId }, { orderBy: { activatesAt: 'DESC', id: 'DESC' } });
  }

  /**
   * Serialises key changes of one environment across processes (first key, rotation,
   * revocation) until the caller's transaction ends.
   */
  async lockEnvironmentKeys(environmentId: string): Promise<void> {
    if (!this.em.isInTransaction()) throw new Error('lockEnvironmentKeys holds a transaction lock: call it inside a transaction');
    const environments = environmentsOf(this.em);
    if (environments && !environments.includes(environmentId)) {
      throw new TenantScopeViolation(`Refused to lock the keys of environment ${environmentId} outside the caller's tenant scope`);
    }
    await sql(this.em, `select pg_advisory_xact_lock(hashtext(?))`, [`signing_key:${environmentId}`]);
  }

  /** The scope's environments without an unrevoked key that signs at `now`. */
  async environmentsWithoutSigner(now: Date): Promise<string[]> {
    const environments = environmentsOf(this.em);
    const rows = await sql<{ id: string }>(
      this.em,
      `select e."id" from "${tableOf(this.em, Environment)}" e
        where not exists (select 1 from "${tableOf(this.em, SigningKey)}" k
                           where k."environment_id" = e."id" and k."revoked_at" is null and k."activates_at" <= ?)` +
        (environments ? ` and e."id" = any(?::text[])` : '') +
        ` order by e."id"`,
      environments ? [now, [...environments]] : [now],
    );
    return rows.map((row) => row.id);
  }
}

/** Every signing key of many environments in one statement, newest first, as plain read-only rows (the GraphQL loaders). */
export async function signingKeyRowsOfEnvironments(em: EntityManager, environmentIds: readonly string[]): Promise<SigningKey[][]> {
  if (!environmentIds.length) return [];
  const scope = entityCondition(em, SigningKey, 'k');
  const rows = await sql(
    em,
    `select k.*, k."environment_id" as "_parent" from "${tableOf(em, SigningKey)}" k` +
      ` where k."environment_id" = any(?::text[])${scope.sql} order by k."activates_at" desc, k."id" desc`,
    [[...environmentIds], ...scope.params],
  );
  return groupByParent(environmentIds, rows, rowMapper(em, SigningKey));
}
