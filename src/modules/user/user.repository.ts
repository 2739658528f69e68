import { raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { rowsById } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { environmentsOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { Membership } from '../membership/membership.entity.js';
import { CustomAttributeDefinition, User, type UserStatus } from './user.entity.js';

export interface UserListQuery {
  environmentId: string;
  /** Lower-case. */
  email?: string | null;
  externalId?: string | null;
  status?: UserStatus | null;
  organizationId?: string | null;
}

/** Users of the EntityManager's tenant scope. */
export class UserRepository extends Repository<User> {
  constructor(em: EntityManager) {
    super(em, User, 'user');
  }

  findByEmail(environmentId: string, email: string): Promise<User | null> {
    return this.em.findOne(User, { environmentId, email });
  }

  list(query: UserListQuery, sort: Sort, args: PageArgs, maxPageSize: number) {
    const { environmentId, organizationId } = query;
    const where: FilterQuery<User>[] = [{ environmentId }];
    if (query.email != null) where.push({ email: query.email });
    if (query.externalId != null) where.push({ externalId: query.externalId });
    if (query.status != null) where.push({ status: query.status });
    const memberships = tableOf(this.em, Membership);
    // A subquery, not a list of ids: an organization may have any number of members. A raw()
    // fragment is consumed by the query that uses it, so each query (page, count) gets its own.
    const conditions = (): FilterQuery<User> => ({
      $and:
        organizationId != null
          ? [
              ...where,
              {
                [raw(
                  (alias) => `${alias}.id in (select m.user_id from "${memberships}" m where m.environment_id = ? and m.organization_id = ?)`,
                  [environmentId, organizationId],
                )]: [],
              },
            ]
          : where,
    });
    return paginate(this.em, User, conditions, sort, args, maxPageSize);
  }

  /** Users by id as plain read-only rows, for the GraphQL loaders. */
  rowsById(ids: readonly string[]): Promise<(User | null)[]> {
    return rowsById(this.em, User, ids);
  }
}

/** Custom attribute definitions of the EntityManager's tenant scope. */
export class CustomAttributeDefinitionRepository extends Repository<CustomAttributeDefinition> {
  constructor(em: EntityManager) {
    super(em, CustomAttributeDefinition, 'custom_attribute');
  }

  /** The definitions of an environment, by key. */
  ofEnvironment(environmentId: string): Promise<CustomAttributeDefinition[]> {
    return this.em.find(CustomAttributeDefinition, { environmentId }, { orderBy: { key: 'ASC' } });
  }

  countOf(environmentId: string): Promise<number> {
    return this.em.count(CustomAttributeDefinition, { environmentId });
  }

  /**
   * Serialises definition changes of one environment until the transaction ends, so the cap
   * on definitions holds under concurrency. Runs inside the EntityManager's transaction.
   */
  async lockEnvironment(environmentId: string): Promise<void> {
    this.checkEnvironment(environmentId);
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`custom_attributes:${environmentId}`]);
  }

  /** Deletes a definition and drops its values from every user of its environment. */
  async deleteWithValues(definition: Pick<CustomAttributeDefinition, 'id' | 'key' | 'environmentId'>): Promise<void> {
    this.checkEnvironment(definition.environmentId);
    await this.em.nativeDelete(CustomAttributeDefinition, { id: definition.id });
    await sql(
      this.em,
      `update "${tableOf(this.em, User)}" set "custom_attributes" = "custom_attributes" - ? where "environment_id" = ? and jsonb_exists("custom_attributes", ?)`,
      [definition.key, definition.environmentId, definition.key],
    );
  }

  /** Raw SQL below names its environment: it must be one of the scope's. */
  private checkEnvironment(environmentId: string): void {
    const environments = environmentsOf(this.em);
    if (environments && !environments.includes(environmentId)) {
      throw new TenantScopeViolation(`Refused to touch custom attributes of environment ${environmentId} outside the caller's tenant scope`);
    }
  }
}
