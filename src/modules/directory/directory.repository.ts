import type { EntityManager } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { entityCondition, rowMapper } from '../../db/rows.js';
import { Repository } from '../../db/repository.js';
import { sql, tableOf } from '../../db/sql.js';
import { Environment } from '../environment/environment.entity.js';
import { environmentsOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import type { GroupRoleMapping } from '../connection/attribute-mapping.js';
import { Directory } from './directory.entity.js';

/** SCIM directories of the scope's environments. */
export class DirectoryRepository extends Repository<Directory> {
  constructor(em: EntityManager) {
    super(em, Directory, 'directory');
  }

  /** An environment's directories, or one organization's, oldest first. */
  page(where: { environmentId: string; organizationId?: string | null }, args: PageArgs, maxPageSize: number) {
    const filter = where.organizationId ? { environmentId: where.environmentId, organizationId: where.organizationId } : { environmentId: where.environmentId };
    return paginate(this.em, Directory, filter, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /**
   * Serialises the creation of an organization's directories until the transaction ends, so
   * the cap holds under concurrency. Runs inside the EntityManager's transaction.
   */
  async lockOrganization(environmentId: string, organizationId: string): Promise<void> {
    const environments = environmentsOf(this.em);
    if (environments && !environments.includes(environmentId)) throw new TenantScopeViolation(`Refused to lock directories of environment ${environmentId} outside the caller's tenant scope`);
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`directories:${organizationId}`]);
  }

  countOf(organizationId: string): Promise<number> {
    return this.em.count(Directory, { organizationId });
  }

  /**
   * A directory by id with its environment's workspace, read before any tenant is known (the
   * SCIM endpoint authenticates its bearer token with it): system work only.
   */
  async withWorkspace(id: string): Promise<{ directory: Directory; workspaceId: string } | null> {
    const [row] = await sql<Record<string, unknown>>(
      this.em,
      `select d.*, e."workspace_id" as "_workspace_id" from "${tableOf(this.em, Directory)}" d join "${tableOf(this.em, Environment)}" e on e."id" = d."environment_id" where d."id" = ?`,
      [id],
    );
    return row ? { directory: rowMapper(this.em, Directory)(row), workspaceId: String(row._workspace_id) } : null;
  }

  /** Notes that the directory's IdP called now (outside any transaction: a usage hint, not an audited change). */
  async touch(id: string, at: Date): Promise<void> {
    await sql(this.em, `update "${tableOf(this.em, Directory)}" set "last_request_at" = ? where "id" = ?`, [at, id]);
  }

  /**
   * Serialises role recomputation of a directory's people until the transaction ends, then
   * reads the directory's group → role mappings as committed: two concurrent changes of one
   * person's groups (under READ COMMITTED) each compute from what the other committed, and a
   * request that loaded the directory before an administrator changed its mappings computes
   * with the new ones.
   */
  async lockRolesOf(directoryId: string): Promise<GroupRoleMapping[]> {
    await sql(this.em, 'select pg_advisory_xact_lock(hashtext(?))', [`directory-roles:${directoryId}`]);
    const scope = entityCondition(this.em, Directory, 'd');
    const [row] = await sql<{ group_role_mappings: GroupRoleMapping[] }>(this.em, `select d."group_role_mappings" from "${tableOf(this.em, Directory)}" d where d."id" = ?${scope.sql}`, [directoryId, ...scope.params]);
    return row?.group_role_mappings ?? [];
  }
}
