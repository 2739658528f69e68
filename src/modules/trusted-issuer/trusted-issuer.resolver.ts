import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { createTrustedIssuer, deleteTrustedIssuer, listTrustedIssuers, updateTrustedIssuer } from './trusted-issuer.service.js';
import {
  CreateTrustedIssuerInput,
  TrustedIssuerConnection,
  TrustedIssuerPayload,
  TrustedIssuerType,
  UpdateTrustedIssuerInput,
} from './trusted-issuer.types.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => TrustedIssuerType)
export class TrustedIssuerResolver {
  @Query(() => TrustedIssuerConnection, { description: 'Trusted issuers of an environment, oldest first. Needs `oauth:read`.' })
  async trustedIssuers(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return pageConnection(await listTrustedIssuers(services(ctx), environmentId, page, ctx.config.maxPageSize));
  }

  @Mutation(() => TrustedIssuerPayload, { description: 'Trusts an external token issuer for token exchange. Needs `oauth:write`.' })
  createTrustedIssuer(@Arg('input', INPUT) input: CreateTrustedIssuerInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      trustedIssuer: await createTrustedIssuer(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => TrustedIssuerPayload, { description: 'Changes a trusted issuer. Needs `oauth:write`.' })
  updateTrustedIssuer(@Arg('input', INPUT) input: UpdateTrustedIssuerInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({
      trustedIssuer: await updateTrustedIssuer(services(ctx), input, ctx.config.allowPrivateTargets),
    }));
  }

  @Mutation(() => DeletePayload, { description: 'Stops trusting an issuer. Needs `oauth:write`.' })
  deleteTrustedIssuer(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteTrustedIssuer(services(ctx), input) }));
  }
}
