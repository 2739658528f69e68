import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

export interface ResourceScope {
  name: string;
  description: string | null;
}

/** An API protected by the environment's tokens: its identifier is the tokens' `aud`. */
@Entity({ tableName: 'resource_server' })
@Unique({ properties: ['environmentId', 'identifier'] })
@Index({ properties: ['environmentId', 'createdAt'] })
export class ResourceServer extends BaseEntity<'documentationUrl'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  name!: string;

  /** An absolute URI (RFC 8707 resource indicator). */
  @Property({ type: 'text' })
  identifier!: string;

  @Property({ type: 'jsonb' })
  scopes!: ResourceScope[];

  /** `resource_documentation` of its RFC 9728 metadata. */
  @Property({ type: 'text', nullable: true })
  documentationUrl: string | null = null;
}
