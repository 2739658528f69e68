import { LockMode, type EntityManager, type FilterQuery, type RequiredEntityData } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { includeEnvironment } from '../../db/tenant-scope.js';
import { notFound } from '../../errors/app-error.js';
import { Environment } from './environment.entity.js';

/** Environments of the scope's workspace that the scope reaches. */
export class EnvironmentRepository extends Repository<Environment> {
  constructor(em: EntityManager) {
    super(em, Environment, 'environment');
  }

  /**
   * A new environment in the caller's unit of work. The EntityManager's scope widens to it, so
   * the same transaction can seed its tenant data (roles, its first signing key).
   */
  /** A new environment; the EntityManager's scope widens to it, so the same change can fill it. */
  override create(values: RequiredEntityData<Environment>): Environment {
    includeEnvironment(this.em, values.id!);
    return super.create(values);
  }

  /** The environment of the workspace, or NOT_FOUND. */
  async getInWorkspace(workspaceId: string, id: string): Promise<Environment> {
    const environment = await this.em.findOne(Environment, { id, workspaceId });
    if (!environment) throw notFound('environment', id);
    return environment;
  }

  /** The environment of the workspace with a row lock, inside the caller's transaction, or NOT_FOUND. */
  async lockInWorkspace(workspaceId: string, id: string): Promise<Environment> {
    const environment = await this.em.findOne(Environment, { id, workspaceId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!environment) throw notFound('environment', id);
    return environment;
  }

  page(where: FilterQuery<Environment>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, Environment, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  countInWorkspace(workspaceId: string): Promise<number> {
    return this.em.count(Environment, { workspaceId });
  }
}
