import type { EntityManager } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { sql, tableOf } from '../../db/sql.js';
import { OutboxMessage } from './email.entity.js';

/** The development outbox of the scope's environments. */
export class OutboxRepository extends Repository<OutboxMessage> {
  constructor(em: EntityManager) {
    super(em, OutboxMessage, 'outbox_message');
  }

  /** Newest first. */
  page(environmentId: string, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, OutboxMessage, { environmentId }, { field: 'createdAt', direction: 'DESC' }, args, maxPageSize);
  }

  /** Drops all but the newest `keep` messages of an environment: the outbox is for reading the last few. */
  async prune(environmentId: string, keep: number): Promise<void> {
    const table = tableOf(this.em, OutboxMessage);
    await sql(
      this.em,
      `delete from "${table}" where "environment_id" = ? and "id" not in` +
        ` (select "id" from "${table}" where "environment_id" = ? order by "created_at" desc, "id" desc limit ?)`,
      [environmentId, environmentId, keep],
    );
  }
}
