import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { DIRECTORY_SETUP_HINTS, directoryBaseUrl } from './directory-presets.js';
import type { Directory } from './directory.entity.js';
import { createDirectory, deleteDirectory, listDirectories, rotateDirectoryToken, updateDirectory } from './directory.service.js';
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
