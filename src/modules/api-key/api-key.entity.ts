import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Workspace } from '../workspace/workspace.entity.js';

/** A management credential. Only the SHA-256 of the secret is stored. */
@Entity({ tableName: 'api_key' })
@Index({ properties: ['workspaceId', 'createdAt'] })
export class ApiKey extends BaseEntity<'environmentId' | 'lastUsedAt' | 'revokedAt' | 'expiresAt' | 'createdBy'> {
  @ManyToOne({ entity: () => Workspace, mapToPk: true, fieldName: 'workspace_id', deleteRule: 'cascade' })
  workspaceId!: string;

  /** When set, the key reaches only this environment. */
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', nullable: true, deleteRule: 'cascade' })
  environmentId: string | null = null;

  @Property({ type: 'text' })
  name!: string;

  /** The first characters of the key, shown so people can recognise it. */
  @Property({ type: 'text' })
  prefix!: string;

  /** SHA-256 of the full key, hex. */
  @Property({ type: 'text' })
  @Unique()
  secretHash!: string;

  @Property({ type: 'text[]' })
  scopes!: string[];

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;

  /** Id of the key that created this one; null for keys made by the operator CLI or bootstrap. */
  @Property({ type: 'text', nullable: true })
  createdBy: string | null = null;
}
