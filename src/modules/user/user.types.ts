import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection, OrderDirection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { UserError } from '../../graphql/user-error.js';
import { CustomAttributeType, UserStatus } from './user.entity.js';

registerEnumType(UserStatus, {
  name: 'UserStatus',
  description: 'Lifecycle state of a user.',
  valuesConfig: {
    ACTIVE: { description: 'Can sign in.' },
    SUSPENDED: { description: 'Temporarily blocked by an administrator.' },
    DEPROVISIONED: { description: 'Removed by the organization\'s directory.' },
  },
});
registerEnumType(CustomAttributeType, {
  name: 'CustomAttributeType',
  description: 'Value type of a custom user attribute.',
  valuesConfig: {
    STRING: { description: 'Text, at most 2048 characters.' },
    NUMBER: { description: 'A finite JSON number.' },
    BOOLEAN: { description: 'true or false.' },
    DATETIME: { description: 'An ISO 8601 date-time with a time zone, stored in UTC.' },
  },
});

export enum UserOrderField {
  CREATED_AT = 'createdAt',
  UPDATED_AT = 'updatedAt',
  EMAIL = 'email',
}
registerEnumType(UserOrderField, {
  name: 'UserOrderField',
  description: 'Fields users can be ordered by.',
  valuesConfig: {
    CREATED_AT: { description: 'Creation time.' },
    UPDATED_AT: { description: 'Time of the last change.' },
    EMAIL: { description: 'Email address.' },
  },
});

@ObjectType('User', { simpleResolvers: true, implements: Node, description: 'A person who signs in to the builder\'s app, in one environment.' })
export class UserType extends Node {
  @Field(() => ID, { description: 'Environment of the user.' })
  environmentId!: string;

  @Field({ description: 'Email address, lower-case, unique in the environment.' })
  email!: string;

  @Field({ description: 'Whether the email address is proven.' })
  emailVerified!: boolean;

  @Field(() => String, { nullable: true, description: 'Given (first) name.' })
  givenName!: string | null;

  @Field(() => String, { nullable: true, description: 'Family (last) name.' })
  familyName!: string | null;

  @Field(() => String, { nullable: true, description: 'The builder\'s own id, unique in the environment.' })
  externalId!: string | null;

  @Field(() => UserStatus, { description: 'Lifecycle state.' })
  status!: UserStatus;

  @Field(() => JSONObjectScalar, { description: 'Values of the environment\'s custom attributes.' })
  customAttributes!: Record<string, unknown>;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of users.' })
export class UserConnection extends Connection(UserType, 'User') {}

@ObjectType('CustomAttributeDefinition', { simpleResolvers: true, implements: Node, description: 'A typed extra field that users of an environment may or must have.' })
export class CustomAttributeDefinitionType extends Node {
  @Field({ description: 'Key in `customAttributes`.' })
  key!: string;

  @Field(() => CustomAttributeType, { description: 'Value type.' })
  type!: CustomAttributeType;

  @Field({ description: 'Whether every user must have a value.' })
  required!: boolean;

  @Field(() => String, { nullable: true, description: 'What it means.' })
  description!: string | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;
}

@InputType({ description: 'Narrows a list of users; all given conditions must hold.' })
export class UserFilter {
  @Field({ nullable: true, description: 'Exact email (case-insensitive).' })
  email?: string;

  @Field({ nullable: true, description: 'Exact external id.' })
  externalId?: string;

  @Field(() => UserStatus, { nullable: true, description: 'Lifecycle state.' })
  status?: UserStatus;

  @Field(() => ID, { nullable: true, description: 'Members of this organization.' })
  organizationId?: string;
}

@InputType({ description: 'Order of a list of users.' })
export class UserOrder {
  @Field(() => UserOrderField, { description: 'Field to order by; ties are broken by id.' })
  field!: UserOrderField;

  @Field(() => OrderDirection, { description: 'Direction.' })
  direction!: OrderDirection;
}

@InputType({ description: 'A new user.' })
export class CreateUserInput {
  @Field(() => ID, { nullable: true, description: 'Environment to create it in; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Email address.' })
  email!: string;

  @Field({ nullable: true, description: 'Whether the email address is proven (default false).' })
  emailVerified?: boolean;

  @Field(() => String, { nullable: true, description: 'Given name.' })
  givenName?: string | null;

  @Field(() => String, { nullable: true, description: 'Family name.' })
  familyName?: string | null;

  @Field(() => String, { nullable: true, description: 'The builder\'s own id.' })
  externalId?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Values for the environment\'s custom attributes.' })
  customAttributes?: Record<string, unknown>;
}

@InputType({ description: 'Changes to a user; omitted fields stay, `null` clears.' })
export class UpdateUserInput {
  @Field(() => ID, { description: 'The user to change.' })
  id!: string;

  @Field({ nullable: true, description: 'New email address.' })
  email?: string;

  @Field({ nullable: true, description: 'Whether the email address is proven.' })
  emailVerified?: boolean;

  @Field(() => String, { nullable: true, description: 'Given name.' })
  givenName?: string | null;

  @Field(() => String, { nullable: true, description: 'Family name.' })
  familyName?: string | null;

  @Field(() => String, { nullable: true, description: 'External id.' })
  externalId?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Attributes to set; a `null` value removes one.' })
  customAttributes?: Record<string, unknown>;
}

@InputType({ description: 'Identifies a user.' })
export class UserIdInput {
  @Field(() => ID, { description: 'The user.' })
  id!: string;
}

@InputType({ description: 'A new custom attribute definition.' })
export class CreateCustomAttributeDefinitionInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Key in `customAttributes`.' })
  key!: string;

  @Field(() => CustomAttributeType, { description: 'Value type.' })
  type!: CustomAttributeType;

  @Field({ nullable: true, description: 'Whether every user must have a value (default false).' })
  required?: boolean;

  @Field(() => String, { nullable: true, description: 'What it means.' })
  description?: string | null;
}

@InputType({ description: 'Changes to a custom attribute definition.' })
export class UpdateCustomAttributeDefinitionInput {
  @Field(() => ID, { description: 'The definition.' })
  id!: string;

  @Field({ nullable: true, description: 'Whether every user must have a value.' })
  required?: boolean;

  @Field(() => String, { nullable: true, description: 'What it means.' })
  description?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a user.' })
export class UserPayload {
  @Field(() => UserType, { nullable: true, description: 'The user after the change.' })
  user?: UserType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a custom attribute definition.' })
export class CustomAttributeDefinitionPayload {
  @Field(() => CustomAttributeDefinitionType, { nullable: true, description: 'The definition after the change.' })
  customAttributeDefinition?: CustomAttributeDefinitionType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
