import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { issuerFor } from './issuer.js';
import type { Environment } from './environment.entity.js';
import {
  ClientRegistrationPolicyPayload,
  CreateEnvironmentInput,
  DeleteEnvironmentInput,
  DeleteEnvironmentPayload,
  EnvironmentConnection,
  EnvironmentFilter,
  EnvironmentPayload,
  EnvironmentType,
  UpdateClientRegistrationPolicyInput,
  UpdateEnvironmentInput,
} from './environment.types.js';
import {
  createEnvironment,
  deleteEnvironment,
  getEnvironment,
  listEnvironments,
  updateClientRegistrationPolicy,
  updateEnvironment,
} from './environment.service.js';

@Resolver(() => EnvironmentType)
export class EnvironmentResolver {
  @Query(() => EnvironmentType, { description: 'One environment the key reaches. Needs `environments:read`.' })
  environment(@Arg('id', () => ID, { description: 'Id of the environment.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return getEnvironment(services(ctx), id);
  }

  @Query(() => EnvironmentConnection, { description: 'Environments the key reaches, oldest first. Needs `environments:read`.' })
  async environments(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => EnvironmentFilter, { nullable: true, description: 'Conditions to match.' }) filter?: EnvironmentFilter,
  ) {
    return pageConnection(await listEnvironments(services(ctx), filter, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => String, { description: 'Issuer (`iss`) of its OAuth authorization server, which its tokens carry.' })
  issuer(@Root() environment: Environment, @Ctx() ctx: GraphQLContext) {
    return issuerFor(ctx.config.publicUrl, environment.id);
  }

  @Mutation(() => EnvironmentPayload, { description: 'Creates an environment with the built-in roles. Needs a workspace-wide key with `environments:write`.' })
  createEnvironment(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateEnvironmentInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ environment: await createEnvironment(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => EnvironmentPayload, {
    description:
      'Renames an environment or sets its audit retention. Needs a workspace-wide key with `environments:write`; shortening the retention also needs `audit:write`.',
  })
  updateEnvironment(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateEnvironmentInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ environment: await updateEnvironment(services(ctx), input) }));
  }

  @Mutation(() => DeleteEnvironmentPayload, {
    description: 'Deletes an environment and all of its data; its audit trail stays. Needs a workspace-wide key with `environments:write`.',
  })
  deleteEnvironment(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteEnvironmentInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteEnvironment(services(ctx), input) }));
  }

  @Mutation(() => ClientRegistrationPolicyPayload, {
    description: 'Sets who may register OAuth clients dynamically, and issues an initial access token. Needs `oauth:write`.',
  })
  updateClientRegistrationPolicy(
    @Arg('input', { description: 'What to do; see the input type.' }) input: UpdateClientRegistrationPolicyInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return mutationPayload(ctx, () => updateClientRegistrationPolicy(services(ctx), input));
  }
}
