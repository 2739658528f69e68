import { LockMode, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { ResourceServer } from './resource-server.entity.js';

/** Resource servers (APIs that accept the environment's tokens) of the scope's environments. */
export class ResourceServerRepository extends Repository<ResourceServer> {
  constructor(em: EntityManager) {
    super(em, ResourceServer, 'resource_server');
  }

  page(where: FilterQuery<ResourceServer>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, ResourceServer, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /** Every resource server of the environment. */
  allOf(environmentId: string): Promise<ResourceServer[]> {
    return this.em.find(ResourceServer, { environmentId });
  }

  /**
   * The environment's servers with these identifiers, read `for share` inside the caller's
   * transaction: a server being deleted cannot slip between a check and its commit.
   */
  shareByIdentifiers(environmentId: string, identifiers: string[]): Promise<Pick<ResourceServer, 'id' | 'identifier'>[]> {
    return this.em.find(ResourceServer, { environmentId, identifier: { $in: identifiers } }, { fields: ['id', 'identifier'], lockMode: LockMode.PESSIMISTIC_READ });
  }
}
