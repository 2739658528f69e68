import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { SsoConnection } from './connection.entity.js';

/** SSO connections of the scope's environments. */
export class SsoConnectionRepository extends Repository<SsoConnection> {
  constructor(em: EntityManager) {
    super(em, SsoConnection, 'sso_connection');
  }

  page(where: FilterQuery<SsoConnection>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, SsoConnection, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }
}
