import { Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { createApiKey, getCallingApiKey, listApiKeys, revokeApiKey } from './api-key.service.js';
import {
  ApiKeyConnection,
  ApiKeyFilterInput,
  ApiKeyType,
  CreateApiKeyInput,
  CreateApiKeyPayload,
  RevokeApiKeyInput,
  RevokeApiKeyPayload,
  ViewerType,
} from './api-key.types.js';

@Resolver(() => ApiKeyType)
export class ApiKeyResolver {
  @Query(() => ViewerType, { description: 'The calling API key and its grants. Needs no scope.' })
  async viewer(@Ctx() ctx: GraphQLContext) {
    const apiKey = await getCallingApiKey(services(ctx));
    return {
      apiKey,
      workspaceId: ctx.principal.workspaceId,
      environmentIds: ctx.principal.environmentIds,
      scopes: ctx.principal.scopes,
    };
  }

  @Query(() => ApiKeyConnection, { description: 'API keys of the workspace, newest first. Needs `api_keys:read`.' })
  async apiKeys(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => ApiKeyFilterInput, { nullable: true, description: 'Conditions to match.' }) filter?: ApiKeyFilterInput,
  ) {
    return pageConnection(await listApiKeys(services(ctx), filter, page, ctx.config.maxPageSize));
  }

  @Mutation(() => CreateApiKeyPayload, { description: 'Creates an API key and returns it once. Needs `api_keys:write`.' })
  createApiKey(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => createApiKey(services(ctx), input));
  }

  @Mutation(() => RevokeApiKeyPayload, { description: 'Revokes an API key at once. Needs `api_keys:write`.' })
  revokeApiKey(@Arg('input', { description: 'What to do; see the input type.' }) input: RevokeApiKeyInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ apiKey: await revokeApiKey(services(ctx), input) }));
  }
}
