import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { MembershipStatus } from './membership.entity.js';

registerEnumType(MembershipStatus, {
  name: 'MembershipStatus',
  description: 'State of a membership.',
  valuesConfig: {
    ACTIVE: { description: 'The user acts in the organization with its roles.' },
    INACTIVE: { description: 'Kept, but grants nothing.' },
    PENDING: { description: 'Invited, not yet accepted.' },
  },
});

@ObjectType('Membership', { simpleResolvers: true, implements: Node, description: 'A user\'s membership of an organization, with the roles it grants.' })
export class MembershipType extends Node {
  @Field(() => ID, { description: 'The organization.' })
  organizationId!: string;

  @Field(() => ID, { description: 'The user.' })
  userId!: string;

  @Field(() => MembershipStatus, { description: 'State.' })
  status!: MembershipStatus;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of memberships.' })
export class MembershipConnection extends Connection(MembershipType, 'Membership') {}

@InputType({ description: 'A new membership.' })
export class CreateMembershipInput {
  @Field(() => ID, { description: 'The organization.' })
  organizationId!: string;

  @Field(() => ID, { description: 'The user, of the same environment.' })
  userId!: string;

  @Field(() => [String], { nullable: true, description: 'Keys of the roles to grant; `["member"]` by default.' })
  roleKeys?: string[];

  @Field(() => MembershipStatus, { nullable: true, description: 'Initial state; ACTIVE by default.' })
  status?: MembershipStatus;
}

@InputType({ description: 'Changes to a membership.' })
export class UpdateMembershipInput {
  @Field(() => ID, { description: 'The membership.' })
  id!: string;

  @Field(() => MembershipStatus, { nullable: true, description: 'New state.' })
  status?: MembershipStatus;
}

@InputType({ description: 'Roles to add to, remove from, or set on a membership.' })
export class MembershipRolesInput {
  @Field(() => ID, { description: 'The membership.' })
  membershipId!: string;

  @Field(() => [String], { description: 'Role keys.' })
  roleKeys!: string[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a membership.' })
export class MembershipPayload {
  @Field(() => MembershipType, { nullable: true, description: 'The membership after the change.' })
  membership?: MembershipType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
