import type { EntityManager } from '@mikro-orm/core';
import { newInternalId } from '../../db/id.js';
import { Repository } from '../../db/repository.js';
import { sql, tableOf } from '../../db/sql.js';
import { DirectoryRequestError } from './directory-request-error.entity.js';

/** Failed requests kept per directory: the most recent. */
export const RECENT_DIRECTORY_ERRORS = 20;

export class DirectoryRequestErrorRepository extends Repository<DirectoryRequestError> {
  constructor(em: EntityManager) {
    super(em, DirectoryRequestError, 'directory_request_error');
  }

  /** Keeps a failed request, and forgets the directory's older ones beyond the most recent. Outside any transaction: a diagnostic, not a change. */
  async record(error: Omit<DirectoryRequestError, 'id' | 'createdAt' | 'updatedAt'>): Promise<void> {
    const table = tableOf(this.em, DirectoryRequestError);
    await sql(
      this.em,
      `insert into "${table}" ("id", "created_at", "updated_at", "environment_id", "directory_id", "method", "path", "status", "scim_type", "detail") values (?, now(), now(), ?, ?, ?, ?, ?, ?, ?)`,
      [newInternalId('directoryRequestError'), error.environmentId, error.directoryId, error.method, error.path.slice(0, 200), error.status, error.scimType, error.detail.slice(0, 500)],
    );
    await sql(
      this.em,
      `delete from "${table}" where "directory_id" = ? and "id" in (select "id" from "${table}" where "directory_id" = ? order by "created_at" desc, "id" desc offset ${RECENT_DIRECTORY_ERRORS})`,
      [error.directoryId, error.directoryId],
    );
  }

  /** The directory's most recent failed requests, newest first. */
  recent(directoryId: string): Promise<DirectoryRequestError[]> {
    return this.em.find(DirectoryRequestError, { directoryId }, { orderBy: { createdAt: 'DESC', id: 'DESC' }, limit: RECENT_DIRECTORY_ERRORS });
  }
}
