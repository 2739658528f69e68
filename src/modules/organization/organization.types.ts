import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection, OrderDirection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { UserError } from '../../graphql/user-error.js';
import { DomainState } from './organization.entity.js';

registerEnumType(DomainState, {
  name: 'DomainState',
  description: 'Whether ownership of a domain is proven.',
  valuesConfig: {
    PENDING: { description: 'Added, ownership not yet proven.' },
    VERIFIED: { description: 'Ownership proven; used for home-realm discovery.' },
    FAILED: { description: 'Verification failed.' },
  },
});

export enum OrganizationOrderField {
  CREATED_AT = 'createdAt',
  UPDATED_AT = 'updatedAt',
  NAME = 'name',
}
registerEnumType(OrganizationOrderField, {
  name: 'OrganizationOrderField',
  description: 'Fields organizations can be ordered by.',
  valuesConfig: {
    CREATED_AT: { description: 'Creation time.' },
    UPDATED_AT: { description: 'Time of the last change.' },
    NAME: { description: 'Display name.' },
  },
});

@ObjectType('OrganizationDomain', { simpleResolvers: true, implements: Node, description: 'An email domain of an organization.' })
export class OrganizationDomainType extends Node {
  @Field(() => ID, { description: 'The organization owning the domain.' })
  organizationId!: string;

  @Field({ description: 'Lower-case domain name, e.g. `acme.com`.' })
  domain!: string;

  @Field(() => DomainState, { description: 'Verification state.' })
  state!: DomainState;

  @Field({ description: 'Value of the DNS TXT record at `_gatehouse-verification.<domain>` that proves ownership.' })
  verificationToken!: string;

  @Field(() => Date, { nullable: true, description: 'When ownership was proven.' })
  verifiedAt!: Date | null;

  @Field({ description: 'When it was added.' })
  createdAt!: Date;
}

@ObjectType('Organization', { simpleResolvers: true, implements: Node, description: 'A customer of the builder\'s app: a tenant with its own members, domains and connections.' })
export class OrganizationType extends Node {
  @Field(() => ID, { description: 'Environment of the organization.' })
  environmentId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'The builder\'s own id for it, unique in the environment.' })
  externalId!: string | null;

  @Field(() => JSONObjectScalar, { description: 'Free-form data of the builder.' })
  metadata!: Record<string, unknown>;

  @Field({ description: 'Whether its people must sign in through its SSO connections: an address of its verified domains is never sent a sign-in code or link.' })
  requireSso!: boolean;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of organizations.' })
export class OrganizationConnection extends Connection(OrganizationType, 'Organization') {}

@InputType({ description: 'Narrows a list of organizations; all given conditions must hold.' })
export class OrganizationFilter {
  @Field({ nullable: true, description: 'Name starts with this (case-insensitive).' })
  namePrefix?: string;

  @Field({ nullable: true, description: 'Exact external id.' })
  externalId?: string;

  @Field({ nullable: true, description: 'Has this domain (any state).' })
  domain?: string;
}

@InputType({ description: 'Order of a list of organizations.' })
export class OrganizationOrder {
  @Field(() => OrganizationOrderField, { description: 'Field to order by; ties are broken by id.' })
  field!: OrganizationOrderField;

  @Field(() => OrderDirection, { description: 'Direction.' })
  direction!: OrderDirection;
}

@InputType({ description: 'A domain to add to an organization.' })
export class DomainInput {
  @Field({ description: 'Domain name, e.g. `acme.com`.' })
  domain!: string;

  @Field(() => DomainState, { nullable: true, description: 'Initial state: PENDING (default), or VERIFIED when the builder has proven ownership itself.' })
  state?: DomainState;
}

@InputType({ description: 'A new organization.' })
export class CreateOrganizationInput {
  @Field(() => ID, { nullable: true, description: 'Environment to create it in; defaults to the key\'s environment.' })
  environmentId?: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'The builder\'s own id, unique in the environment.' })
  externalId?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Free-form data (at most 16 KiB of JSON).' })
  metadata?: Record<string, unknown>;

  @Field({ nullable: true, description: 'Its people sign in through its SSO connections only; false by default.' })
  requireSso?: boolean;

  @Field(() => [DomainInput], { nullable: true, description: 'Domains to add.' })
  domains?: DomainInput[];
}

@InputType({ description: 'Changes to an organization; omitted fields stay, `null` clears.' })
export class UpdateOrganizationInput {
  @Field(() => ID, { description: 'The organization to change.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field(() => String, { nullable: true, description: 'New external id; `null` clears it.' })
  externalId?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the metadata.' })
  metadata?: Record<string, unknown>;

  @Field({ nullable: true, description: 'Whether its people must sign in through its SSO connections.' })
  requireSso?: boolean;
}

@InputType({ description: 'Identifies an object to delete.' })
export class DeleteInput {
  @Field(() => ID, { description: 'Id of the object.' })
  id!: string;
}

@InputType({ description: 'A domain to add.' })
export class AddOrganizationDomainInput extends DomainInput {
  @Field(() => ID, { description: 'The organization.' })
  organizationId!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of creating or updating an organization.' })
export class OrganizationPayload {
  @Field(() => OrganizationType, { nullable: true, description: 'The organization after the change.' })
  organization?: OrganizationType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of adding or removing a domain.' })
export class OrganizationDomainPayload {
  @Field(() => OrganizationDomainType, { nullable: true, description: 'The domain.' })
  domain?: OrganizationDomainType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a deletion.' })
export class DeletePayload {
  @Field(() => ID, { nullable: true, description: 'Id of the deleted object.' })
  deletedId?: string;

  @Field(() => [UserError], { description: 'Why the deletion was refused, if it was.' })
  userErrors!: UserError[];
}

@InputType({ description: 'A domain whose DNS proof to check.' })
export class VerifyOrganizationDomainInput {
  @Field(() => ID, { description: 'The domain. Publish its `verificationToken` in a TXT record at `_gatehouse-verification.<domain>` first.' })
  id!: string;
}

@InputType({ description: 'A domain state set by hand.' })
export class UpdateOrganizationDomainInput {
  @Field(() => ID, { description: 'The domain.' })
  id!: string;

  @Field(() => DomainState, { description: 'VERIFIED when ownership was proven some other way; PENDING or FAILED to withdraw it.' })
  state!: DomainState;
}
