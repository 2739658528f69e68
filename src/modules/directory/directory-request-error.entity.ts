import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Directory } from './directory.entity.js';

/**
 * A SCIM request of a directory that failed, kept so the builder (and the customer's IT admin)
 * can see why provisioning does not do what they expect: the last few per directory only.
 */
@Entity({ tableName: 'directory_request_error' })
@Index({ properties: ['directoryId', 'createdAt'] })
export class DirectoryRequestError extends BaseEntity<'scimType'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => Directory, mapToPk: true, fieldName: 'directory_id', deleteRule: 'cascade' })
  directoryId!: string;

  @Property({ type: 'text' })
  method!: string;

  /** Below the directory's base URL, e.g. `/Users/dus_…`; at most 200 characters. */
  @Property({ type: 'text' })
  path!: string;

  @Property({ type: 'integer' })
  status!: number;

  @Property({ type: 'text', nullable: true })
  scimType: string | null = null;

  /** The error's detail as the identity provider received it; at most 500 characters. */
  @Property({ type: 'text' })
  detail!: string;
}
