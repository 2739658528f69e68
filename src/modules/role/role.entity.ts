import { Entity, ManyToOne, PrimaryKeyProp, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

@Entity({ tableName: 'role' })
@Unique({ properties: ['environmentId', 'key'] })
export class Role extends BaseEntity<'description' | 'builtIn'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  key!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** Built-in roles (`admin`, `member`) exist in every environment and cannot be deleted. */
  @Property({ type: 'boolean', default: false })
  builtIn: boolean = false;
}

@Entity({ tableName: 'permission' })
@Unique({ properties: ['environmentId', 'key'] })
export class Permission extends BaseEntity<'description'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  /** `resource:action`, e.g. `invoices:read`. */
  @Property({ type: 'text' })
  key!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;
}

@Entity({ tableName: 'role_permission' })
export class RolePermission {
  [PrimaryKeyProp]?: ['roleId', 'permissionId'];

  @ManyToOne({ entity: () => Role, mapToPk: true, fieldName: 'role_id', primary: true, deleteRule: 'cascade' })
  roleId!: string;

  @ManyToOne({ entity: () => Permission, mapToPk: true, fieldName: 'permission_id', primary: true, deleteRule: 'cascade', index: true })
  permissionId!: string;
}
