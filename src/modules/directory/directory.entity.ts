import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import type { GroupRoleMapping } from '../connection/attribute-mapping.js';
import { SsoConnection } from '../connection/connection.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';

/** Which identity provider provisions into a directory: sets what to paste where, and which of its quirks to expect. */
export enum DirectoryProvider {
  OKTA = 'OKTA',
  ENTRA_ID = 'ENTRA_ID',
  JUMPCLOUD = 'JUMPCLOUD',
  ONELOGIN = 'ONELOGIN',
  GOOGLE = 'GOOGLE',
  GENERIC = 'GENERIC',
}

export enum DirectoryStatus {
  /** Its bearer token is accepted and its changes applied. */
  ACTIVE = 'ACTIVE',
  /** Every SCIM request is refused (401); nothing it provisioned is changed. */
  INACTIVE = 'INACTIVE',
}

/**
 * An organization's SCIM 2.0 directory: its identity provider pushes the organization's people
 * and groups to `<public url>/scim/v2/<directory id>` with the directory's bearer token, and
 * Gatehouse keeps users, memberships and roles in step.
 */
@Entity({ tableName: 'directory' })
@Index({ properties: ['environmentId', 'createdAt'] })
export class Directory extends BaseEntity<'status' | 'groupRoleMappings' | 'previousTokenHash' | 'previousTokenExpiresAt' | 'connectionId' | 'lastRequestAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade', index: true })
  organizationId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Enum({ items: () => DirectoryProvider, nativeEnumName: 'directory_provider' })
  provider!: DirectoryProvider;

  @Enum({ items: () => DirectoryStatus, nativeEnumName: 'directory_status', default: DirectoryStatus.ACTIVE })
  status: DirectoryStatus = DirectoryStatus.ACTIVE;

  /** SHA-256 of the bearer token (shown once, when made). */
  @Property({ type: 'text' })
  tokenHash!: string;

  /** The token's first characters, to recognise it. */
  @Property({ type: 'text' })
  tokenPrefix!: string;

  /** After a rotation, the replaced token's hash: accepted until `previousTokenExpiresAt`, so the IdP can be updated without a gap. */
  @Property({ type: 'text', nullable: true })
  previousTokenHash: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  previousTokenExpiresAt: Date | null = null;

  /** Group → role keys, in priority order: a provisioned member of a group gets its roles. */
  @Property({ type: 'jsonb', default: '[]' })
  groupRoleMappings: GroupRoleMapping[] = [];

  /** The organization's SSO connection whose people this directory provisions: a provisioned user and the same person signing in through it are one user. */
  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'set null', nullable: true, index: true })
  connectionId: string | null = null;

  /** When the IdP last called (any SCIM request that authenticated). */
  @Property({ type: 'datetime', nullable: true })
  lastRequestAt: Date | null = null;
}
