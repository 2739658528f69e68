import { Entity, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { User } from '../user/user.entity.js';
import { Directory } from './directory.entity.js';

/**
 * A User resource a directory's identity provider provisioned (SCIM): the resource as it was
 * sent, normalised (`resource`), with the attributes filters and uniqueness need in columns.
 * `id` is its SCIM id.
 */
@Entity({ tableName: 'directory_user' })
@Index({ name: 'directory_user_directory_id_user_name_unique', expression: 'create unique index "directory_user_directory_id_user_name_unique" on "directory_user" ("directory_id", lower("user_name"))' })
@Index({ properties: ['directoryId', 'createdAt', 'id'] })
@Index({ properties: ['directoryId', 'externalId'] })
export class DirectoryUser extends BaseEntity<'active' | 'version' | 'userId' | 'externalId' | 'displayName' | 'email'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade', index: true })
  organizationId!: string;

  @ManyToOne({ entity: () => Directory, mapToPk: true, fieldName: 'directory_id', deleteRule: 'cascade' })
  directoryId!: string;

  /** Unique within the directory, compared case-insensitively (RFC 7643 §4.1.1). */
  @Property({ type: 'text' })
  userName!: string;

  /** The identity provider's own id of the person. */
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Property({ type: 'boolean', default: true })
  active: boolean = true;

  @Property({ type: 'text', nullable: true })
  displayName: string | null = null;

  /** The primary email address (else the first work one, else the first), lower-case. */
  @Property({ type: 'text', nullable: true })
  email: string | null = null;

  /** The SCIM resource as stored: core attributes at the top, an extension's under its URN; never id, meta or a password. */
  @Property({ type: 'jsonb' })
  resource!: Record<string, unknown>;

  /** Incremented by every change: the resource's ETag is W/"<version>". */
  @Property({ type: 'integer', default: 1 })
  version: number = 1;

  /** The environment user this resource is, once linked. */
  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'set null', nullable: true, index: true })
  userId: string | null = null;
}
