import { Entity, Enum, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Workspace } from '../workspace/workspace.entity.js';

export enum EnvironmentKind {
  DEVELOPMENT = 'DEVELOPMENT',
  PRODUCTION = 'PRODUCTION',
}

@Entity({ tableName: 'environment' })
@Unique({ properties: ['workspaceId', 'slug'] })
export class Environment extends BaseEntity<'auditRetentionDays'> {
  @ManyToOne({ entity: () => Workspace, mapToPk: true, fieldName: 'workspace_id', deleteRule: 'cascade' })
  workspaceId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  slug!: string;

  @Enum({ items: () => EnvironmentKind, nativeEnumName: 'environment_kind' })
  kind!: EnvironmentKind;

  /** Audit events older than this many days are pruned (a checkpoint keeps the chain verifiable); null keeps them forever. */
  @Property({ type: 'integer', nullable: true })
  auditRetentionDays: number | null = null;
}
