import { Entity, Enum, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

export enum UserStatus {
  ACTIVE = 'ACTIVE',
  SUSPENDED = 'SUSPENDED',
  DEPROVISIONED = 'DEPROVISIONED',
}

@Entity({ tableName: 'app_user' })
@Unique({ properties: ['environmentId', 'email'] })
@Unique({ properties: ['environmentId', 'externalId'] })
@Index({ properties: ['environmentId', 'createdAt', 'id'] })
export class User extends BaseEntity<'givenName' | 'familyName' | 'externalId' | 'emailVerified' | 'status' | 'customAttributes'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  /** Stored lower-case so uniqueness is case-insensitive. */
  @Property({ type: 'text' })
  email!: string;

  @Property({ type: 'boolean', default: false })
  emailVerified: boolean = false;

  @Property({ type: 'text', nullable: true })
  givenName: string | null = null;

  @Property({ type: 'text', nullable: true })
  familyName: string | null = null;

  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Enum({ items: () => UserStatus, nativeEnumName: 'user_status', default: UserStatus.ACTIVE })
  status: UserStatus = UserStatus.ACTIVE;

  /** Values checked against the environment's CustomAttributeDefinitions. */
  @Property({ type: 'jsonb' })
  customAttributes: Record<string, unknown> = {};
}

export enum CustomAttributeType {
  STRING = 'STRING',
  NUMBER = 'NUMBER',
  BOOLEAN = 'BOOLEAN',
  DATETIME = 'DATETIME',
}

@Entity({ tableName: 'custom_attribute_definition' })
@Unique({ properties: ['environmentId', 'key'] })
export class CustomAttributeDefinition extends BaseEntity<'required' | 'description'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  key!: string;

  @Enum({ items: () => CustomAttributeType, nativeEnumName: 'custom_attribute_type' })
  type!: CustomAttributeType;

  @Property({ type: 'boolean', default: false })
  required: boolean = false;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;
}
