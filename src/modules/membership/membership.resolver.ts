import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, Info, Mutation, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { scopeGrants } from '../../auth/scopes.js';
import { ForwardPageArgsType, toConnection } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { selects } from '../../graphql/lookahead.js';
import { mutationPayload } from '../../graphql/user-error.js';
import type { Organization } from '../organization/organization.entity.js';
import { DeleteInput, DeletePayload, OrganizationType } from '../organization/organization.types.js';
import { RoleType } from '../role/role.types.js';
import type { User } from '../user/user.entity.js';
import { UserType } from '../user/user.types.js';
import type { Membership } from './membership.entity.js';
import { changeMembershipRoles, createMembership, deleteMembership, updateMembership } from './membership.service.js';
import {
  CreateMembershipInput,
  MembershipConnection,
  MembershipPayload,
  MembershipRolesInput,
  MembershipType,
  UpdateMembershipInput,
} from './membership.types.js';
import { Cost } from '../../graphql/cost.js';
import { MAX_ROLES_PER_HOLDER } from '../role/role.service.js';

/**
 * What a field resolver reads of its parent: loaders hand over plain rows (db/rows.ts), not
 * entities. A root typed by a type alias reflects as `Object`, which type-graphql passes through
 * as is; a class imported as a value would reflect as itself and have every row copied into a
 * new instance of it on every call.
 */
type MembershipRow = Pick<Membership, 'id' | 'userId' | 'organizationId'>;
type OrganizationRow = Pick<Organization, 'id'>;
type UserRow = Pick<User, 'id'>;

/**
 * Nested fields check the scope of the data they return, like the root queries do: a key that
 * may read organizations does not thereby read users' details, or roles.
 */
function membershipsOf(ctx: GraphQLContext, parent: 'organizationId' | 'userId', parentId: string, page: ForwardPageArgsType, info: GraphQLResolveInfo) {
  requireScope(ctx.principal, 'organizations:read');
  // The members' users come with the page when the query reads them and the key may.
  const withUsers =
    parent === 'organizationId' &&
    scopeGrants(ctx.principal.scopes, 'users:read') &&
    (selects(info, ['nodes', 'user']) || selects(info, ['edges', 'node', 'user']));
  return ctx.loaders
    .membershipPage(parent, parentId, page, withUsers)
    .then((result) =>
      // The page's statement counted the memberships when it read from the start.
      toConnection(result, () => (result.total !== undefined ? Promise.resolve(result.total) : ctx.loaders.membershipCount(parent, parentId))),
    );
}

@Resolver(() => MembershipType)
export class MembershipResolver {
  @FieldResolver(() => UserType, { description: 'The member.' })
  async user(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'users:read');
    return ctx.loaders.user.load(membership.userId);
  }

  @FieldResolver(() => OrganizationType, { description: 'The organization.' })
  async organization(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'organizations:read');
    return ctx.loaders.organization.load(membership.organizationId);
  }

  @Cost({ maxItems: MAX_ROLES_PER_HOLDER })
  @FieldResolver(() => [RoleType], { description: 'Roles granted by the membership, by key.' })
  roles(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo) {
    requireScope(ctx.principal, 'roles:read');
    // The roles' permissions come with them when the query reads them (RoleType.permissions needs roles:read too).
    return ctx.loaders.membershipRoles(membership.id, selects(info, ['permissions']));
  }

  @Mutation(() => MembershipPayload, { description: 'Adds a user to an organization. Needs `organizations:write`.' })
  createMembership(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateMembershipInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ membership: await createMembership(services(ctx), input) }));
  }

  @Mutation(() => MembershipPayload, { description: 'Changes the state of a membership. Needs `organizations:write`.' })
  updateMembership(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateMembershipInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ membership: await updateMembership(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Removes a user from an organization. Needs `organizations:write`.' })
  deleteMembership(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteMembership(services(ctx), input) }));
  }

  @Mutation(() => MembershipPayload, { description: 'Grants more roles through a membership. Needs `organizations:write`.' })
  addMembershipRoles(@Arg('input', { description: 'What to do; see the input type.' }) input: MembershipRolesInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ membership: await changeMembershipRoles(services(ctx), 'add', input) }));
  }

  @Mutation(() => MembershipPayload, { description: 'Takes roles away from a membership. Needs `organizations:write`.' })
  removeMembershipRoles(@Arg('input', { description: 'What to do; see the input type.' }) input: MembershipRolesInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ membership: await changeMembershipRoles(services(ctx), 'remove', input) }));
  }

  @Mutation(() => MembershipPayload, { description: 'Replaces the roles of a membership. Needs `organizations:write`.' })
  setMembershipRoles(@Arg('input', { description: 'What to do; see the input type.' }) input: MembershipRolesInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ membership: await changeMembershipRoles(services(ctx), 'set', input) }));
  }
}

@Resolver(() => OrganizationType)
export class OrganizationMembershipsResolver {
  @FieldResolver(() => MembershipConnection, { description: 'Memberships of the organization, oldest first.' })
  memberships(@Root() organization: OrganizationRow, @Args() page: ForwardPageArgsType, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo) {
    return membershipsOf(ctx, 'organizationId', organization.id, page, info);
  }
}

@Resolver(() => UserType)
export class UserMembershipsResolver {
  @FieldResolver(() => MembershipConnection, { description: 'Memberships of the user, oldest first.' })
  memberships(@Root() user: UserRow, @Args() page: ForwardPageArgsType, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo) {
    return membershipsOf(ctx, 'userId', user.id, page, info);
  }
}
