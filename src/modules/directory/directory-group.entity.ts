import { Entity, Index, ManyToOne, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { Directory } from './directory.entity.js';
import { DirectoryUser } from './directory-user.entity.js';

/**
 * A Group resource a directory's identity provider provisioned (SCIM). Its members are rows of
 * their own (`DirectoryGroupMember`), never a list in the group's row: adding or removing one
 * member of a group of tens of thousands writes one row and reads none of the others. `id` is
 * its SCIM id.
 */
@Entity({ tableName: 'directory_group' })
@Index({ properties: ['directoryId', 'createdAt', 'id'] })
@Index({ properties: ['directoryId', 'externalId'] })
@Index({ name: 'directory_group_directory_id_display_name_index', expression: 'create index "directory_group_directory_id_display_name_index" on "directory_group" ("directory_id", lower("display_name"))' })
export class DirectoryGroup extends BaseEntity<'version' | 'externalId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade', index: true })
  organizationId!: string;

  @ManyToOne({ entity: () => Directory, mapToPk: true, fieldName: 'directory_id', deleteRule: 'cascade' })
  directoryId!: string;

  /** What the directory's group → role mappings name (compared case-insensitively). */
  @Property({ type: 'text' })
  displayName!: string;

  /** The identity provider's own id of the group. */
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  /** Incremented by every change, members included: the resource's ETag is W/"<version>". */
  @Property({ type: 'integer', default: 1 })
  version: number = 1;
}

/** One member of a group: a User of the same directory (groups of groups are not kept). */
@Entity({ tableName: 'directory_group_member' })
export class DirectoryGroupMember {
  [PrimaryKeyProp]?: ['groupId', 'userId'];

  @ManyToOne({ entity: () => DirectoryGroup, mapToPk: true, fieldName: 'group_id', primary: true, deleteRule: 'cascade' })
  groupId!: string;

  /** The member's DirectoryUser; indexed for "the groups of a user". */
  @ManyToOne({ entity: () => DirectoryUser, mapToPk: true, fieldName: 'user_id', primary: true, deleteRule: 'cascade', index: true })
  userId!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
