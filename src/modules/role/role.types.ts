import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection, OrderDirection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';

export enum RoleOrderField {
  KEY = 'key',
  NAME = 'name',
  CREATED_AT = 'createdAt',
}
registerEnumType(RoleOrderField, {
  name: 'RoleOrderField',
  description: 'Fields roles can be ordered by.',
  valuesConfig: {
    KEY: { description: 'Role key.' },
    NAME: { description: 'Display name.' },
    CREATED_AT: { description: 'Creation time.' },
  },
});

@ObjectType('Permission', { simpleResolvers: true, implements: Node, description: 'Something a role allows, named `resource:action` (e.g. `invoices:read`).' })
export class PermissionType extends Node {
  @Field({ description: 'Unique key in the environment.' })
  key!: string;

  @Field(() => String, { nullable: true, description: 'What it allows.' })
  description!: string | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of permissions.' })
export class PermissionConnection extends Connection(PermissionType, 'Permission') {}

@ObjectType('Role', { simpleResolvers: true, implements: Node, description: 'A named set of permissions, granted through memberships.' })
export class RoleType extends Node {
  @Field(() => ID, { description: 'Environment of the role.' })
  environmentId!: string;

  @Field({ description: 'Unique key in the environment, e.g. `admin`.' })
  key!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the role is for.' })
  description!: string | null;

  @Field({ description: 'Built-in roles (`admin`, `member`) cannot be deleted.' })
  builtIn!: boolean;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of roles.' })
export class RoleConnection extends Connection(RoleType, 'Role') {}

@InputType({ description: 'Order of a list of roles.' })
export class RoleOrder {
  @Field(() => RoleOrderField, { description: 'Field to order by; ties are broken by id.' })
  field!: RoleOrderField;

  @Field(() => OrderDirection, { description: 'Direction.' })
  direction!: OrderDirection;
}

@InputType({ description: 'A new role.' })
export class CreateRoleInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Unique key, e.g. `billing-admin`.' })
  key!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the role is for.' })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Keys of the permissions it grants.' })
  permissionKeys?: string[];
}

@InputType({ description: 'Changes to a role; omitted fields stay as they are.' })
export class UpdateRoleInput {
  @Field(() => ID, { description: 'The role.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field(() => String, { nullable: true, description: 'New description; `null` clears it.' })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the granted permissions.' })
  permissionKeys?: string[];
}

@InputType({ description: 'A new permission.' })
export class CreatePermissionInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Key like `invoices:read`.' })
  key!: string;

  @Field(() => String, { nullable: true, description: 'What it allows.' })
  description?: string | null;
}

@InputType({ description: 'Changes to a permission.' })
export class UpdatePermissionInput {
  @Field(() => ID, { description: 'The permission.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'New description; `null` clears it.' })
  description?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a role.' })
export class RolePayload {
  @Field(() => RoleType, { nullable: true, description: 'The role after the change.' })
  role?: RoleType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a permission.' })
export class PermissionPayload {
  @Field(() => PermissionType, { nullable: true, description: 'The permission after the change.' })
  permission?: PermissionType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
