import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Cost } from '../../graphql/cost.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import type { DirectoryGroup } from './directory-group.entity.js';
import { RECENT_DIRECTORY_ERRORS } from './directory-request-error.repository.js';
import type { DirectoryUser } from './directory-user.entity.js';
import { directoryGroupCount, directoryUserCount, groupMemberCount, listDirectoryGroups, listDirectoryUsers, recentDirectoryErrors, simulateDirectory } from './directory-sync.service.js';
import { groupResource } from './scim/scim-groups.service.js';
import { userResource } from './scim/scim-users.service.js';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { DIRECTORY_SETUP_HINTS, directoryBaseUrl } from './directory-presets.js';
import type { Directory } from './directory.entity.js';
import { createDirectory, deleteDirectory, listDirectories, rotateDirectoryToken, updateDirectory } from './directory.service.js';
import { DirectoryGroupConnection, DirectoryGroupNode, DirectoryRequestErrorType, DirectorySimulationPayload, DirectoryUserConnection, DirectoryUserNode, SimulateDirectoryProvisioningInput } from './directory.types.js';
import { CreateDirectoryInput, DirectoryConnection, DirectoryNode, DirectoryPayload, DirectoryTokenPayload, RotateDirectoryTokenInput, UpdateDirectoryInput } from './directory.types.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => DirectoryNode)
export class DirectoryResolver {
  @Query(() => DirectoryConnection, { description: 'SCIM directories of an organization, or of an environment, oldest first. Needs `organizations:read`.' })
  async directories(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
    @Arg('organizationId', () => ID, { nullable: true, description: 'Only this organization\'s.' }) organizationId?: string,
  ) {
    return pageConnection(await listDirectories(services(ctx), { environmentId, organizationId }, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => String)
  baseUrl(@Root() directory: Directory, @Ctx() ctx: GraphQLContext): string {
    return directoryBaseUrl(ctx.config.publicUrl, directory.id);
  }

  @Query(() => DirectoryUserConnection, { description: 'The Users a directory provisioned, oldest first: all, the active (or inactive) ones, or the members of one of its groups. Needs `organizations:read`.' })
  async directoryUsers(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('directoryId', () => ID, { description: 'The directory.' }) directoryId: string,
    @Arg('active', () => Boolean, { nullable: true, description: 'Only the active (true) or deactivated (false) ones.' }) active?: boolean,
    @Arg('groupId', () => ID, { nullable: true, description: 'Only the members of this group of the directory.' }) groupId?: string,
  ) {
    return pageConnection(await listDirectoryUsers(services(ctx), { directoryId, active, groupId }, page, ctx.config.maxPageSize));
  }

  @Query(() => DirectoryGroupConnection, { description: 'The Groups a directory provisioned, oldest first: all, or those one of its Users is a member of. Needs `organizations:read`.' })
  async directoryGroups(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('directoryId', () => ID, { description: 'The directory.' }) directoryId: string,
    @Arg('memberId', () => ID, { nullable: true, description: 'Only the groups this directory user is a member of.' }) memberId?: string,
  ) {
    return pageConnection(await listDirectoryGroups(services(ctx), { directoryId, memberId }, page, ctx.config.maxPageSize));
  }

  // A count of rows that grow with the organization: priced above a field read.
  @Cost({ price: 5 })
  @FieldResolver(() => Int, { description: 'How many Users it provisioned.' })
  userCount(@Root() directory: Directory, @Ctx() ctx: GraphQLContext): Promise<number> {
    return directoryUserCount(services(ctx), directory.id);
  }

  @Cost({ price: 5 })
  @FieldResolver(() => Int, { description: 'How many Groups it provisioned.' })
  groupCount(@Root() directory: Directory, @Ctx() ctx: GraphQLContext): Promise<number> {
    return directoryGroupCount(services(ctx), directory.id);
  }

  @Cost({ maxItems: RECENT_DIRECTORY_ERRORS })
  @FieldResolver(() => [DirectoryRequestErrorType], { description: `Its identity provider's most recent failed SCIM requests (at most ${RECENT_DIRECTORY_ERRORS}), newest first: why provisioning does not do what is expected.` })
  recentErrors(@Root() directory: Directory, @Ctx() ctx: GraphQLContext) {
    return recentDirectoryErrors(services(ctx), directory.id);
  }

  @FieldResolver(() => String)
  setupHint(@Root() directory: Directory): string {
    return DIRECTORY_SETUP_HINTS[directory.provider];
  }

  @Mutation(() => DirectoryTokenPayload, {
    description: 'Adds a SCIM directory to an organization (at most 5) and returns its bearer token, once. Needs `organizations:write`.',
  })
  createDirectory(@Arg('input', INPUT) input: CreateDirectoryInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => createDirectory(services(ctx), input));
  }

  // Each run is some fifteen SCIM requests and their writes.
  @Cost({ perOperation: 1 })
  @Mutation(() => DirectorySimulationPayload, {
    description:
      'Replays Okta\'s or Entra ID\'s documented provisioning sequence into a directory of a DEVELOPMENT environment, through the same SCIM code their requests meet: new people each run, a pushed group, membership changes, deactivation and deletion. Each step reports its request, the response and its effects (the audit events it caused). Refused elsewhere (`directory.simulator_development_only`). Needs `organizations:write`.',
  })
  simulateDirectoryProvisioning(@Arg('input', INPUT) input: SimulateDirectoryProvisioningInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ simulation: await simulateDirectory(services(ctx), input, ctx.config.publicUrl) }));
  }

  @Mutation(() => DirectoryPayload, { description: 'Changes a directory: its name, status, group → role mappings or SSO connection. Needs `organizations:write`.' })
  updateDirectory(@Arg('input', INPUT) input: UpdateDirectoryInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ directory: await updateDirectory(services(ctx), input) }));
  }

  @Mutation(() => DirectoryTokenPayload, {
    description: 'Gives a directory a new bearer token, returned once; the one it replaces keeps working for `overlapSeconds`. Needs `organizations:write`.',
  })
  rotateDirectoryToken(@Arg('input', INPUT) input: RotateDirectoryTokenInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => rotateDirectoryToken(services(ctx), input));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a directory; its token stops working at once. Needs `organizations:write`.' })
  deleteDirectory(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteDirectory(services(ctx), input) }));
  }
}

@Resolver(() => DirectoryUserNode)
export class DirectoryUserResolver {
  @FieldResolver(() => JSONObjectScalar)
  resource(@Root() user: DirectoryUser, @Ctx() ctx: GraphQLContext): Record<string, unknown> {
    return userResource(user, directoryBaseUrl(ctx.config.publicUrl, user.directoryId));
  }
}

@Resolver(() => DirectoryGroupNode)
export class DirectoryGroupResolver {
  @FieldResolver(() => JSONObjectScalar)
  resource(@Root() group: DirectoryGroup, @Ctx() ctx: GraphQLContext): Record<string, unknown> {
    return groupResource(group, directoryBaseUrl(ctx.config.publicUrl, group.directoryId));
  }

  @Cost({ price: 5 })
  @FieldResolver(() => Int, { description: 'How many members it has.' })
  memberCount(@Root() group: DirectoryGroup, @Ctx() ctx: GraphQLContext): Promise<number> {
    return groupMemberCount(services(ctx), group);
  }

  @FieldResolver(() => DirectoryUserConnection, { description: 'Its members, oldest first.' })
  async members(@Root() group: DirectoryGroup, @Args() page: PageArgsType, @Ctx() ctx: GraphQLContext) {
    return pageConnection(await listDirectoryUsers(services(ctx), { directoryId: group.directoryId, groupId: group.id }, page, ctx.config.maxPageSize));
  }
}
