import type { EntityManager } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { Workspace } from './workspace.entity.js';

/** Workspaces: the tenant root. Callers reach only their own; bootstrap runs as system work. */
export class WorkspaceRepository extends Repository<Workspace> {
  constructor(em: EntityManager) {
    super(em, Workspace, 'workspace');
  }

  /** Whether any workspace exists (first start). */
  async any(): Promise<boolean> {
    return (await this.em.count(Workspace, {})) > 0;
  }
}
