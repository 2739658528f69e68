import { Entity, Enum, Index, ManyToOne, PrimaryKeyProp, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { Role } from '../role/role.entity.js';
import { User } from '../user/user.entity.js';

export enum MembershipStatus {
  ACTIVE = 'ACTIVE',
  INACTIVE = 'INACTIVE',
  PENDING = 'PENDING',
}

/** A user's membership of an organization, with the roles it grants. */
@Entity({ tableName: 'membership' })
@Unique({ properties: ['organizationId', 'userId'] })
@Index({ properties: ['organizationId', 'createdAt', 'id'] })
@Index({ properties: ['userId', 'createdAt', 'id'] })
export class Membership extends BaseEntity<'status'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade' })
  organizationId!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade' })
  userId!: string;

  @Enum({ items: () => MembershipStatus, nativeEnumName: 'membership_status', default: MembershipStatus.ACTIVE })
  status: MembershipStatus = MembershipStatus.ACTIVE;
}

@Entity({ tableName: 'membership_role' })
export class MembershipRole {
  [PrimaryKeyProp]?: ['membershipId', 'roleId'];

  @ManyToOne({ entity: () => Membership, mapToPk: true, fieldName: 'membership_id', primary: true, deleteRule: 'cascade' })
  membershipId!: string;

  @ManyToOne({ entity: () => Role, mapToPk: true, fieldName: 'role_id', primary: true, deleteRule: 'cascade', index: true })
  roleId!: string;
}
