import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { issuerFor, resourceMetadataUrl } from '../environment/issuer.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import type { ResourceServer } from './resource-server.entity.js';
import { createResourceServer, deleteResourceServer, listResourceServers, updateResourceServer } from './resource-server.service.js';
import {
  CreateResourceServerInput,
  ResourceServerConnection,
  ResourceServerPayload,
  ResourceServerType,
  UpdateResourceServerInput,
} from './resource-server.types.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => ResourceServerType)
export class ResourceServerResolver {
  @Query(() => ResourceServerConnection, { description: 'Resource servers of an environment, oldest first. Needs `oauth:read`.' })
  async resourceServers(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return pageConnection(await listResourceServers(services(ctx), environmentId, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => String, { description: 'Where Gatehouse serves its RFC 9728 protected resource metadata.' })
  metadataUrl(@Root() server: ResourceServer, @Ctx() ctx: GraphQLContext) {
    return resourceMetadataUrl(issuerFor(ctx.config.publicUrl, server.environmentId), server.id);
  }

  @Mutation(() => ResourceServerPayload, { description: 'Creates a resource server. Needs `oauth:write`.' })
  createResourceServer(@Arg('input', INPUT) input: CreateResourceServerInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ resourceServer: await createResourceServer(services(ctx), input) }));
  }

  @Mutation(() => ResourceServerPayload, { description: 'Changes a resource server (not its identifier). Needs `oauth:write`.' })
  updateResourceServer(@Arg('input', INPUT) input: UpdateResourceServerInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ resourceServer: await updateResourceServer(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, {
    description: 'Deletes a resource server and removes its identifier from every client\'s allowed audiences. Needs `oauth:write`.',
  })
  deleteResourceServer(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteResourceServer(services(ctx), input) }));
  }
}
