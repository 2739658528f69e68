import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { socialRedirectUri } from '../connection/connection.urls.js';
import { issuerFor } from '../environment/issuer.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import type { SocialConnection } from './social-connection.entity.js';
import { createSocialConnection, deleteSocialConnection, listSocialConnections, updateSocialConnection } from './social-connection.service.js';
import { CreateSocialConnectionInput, SocialConnectionConnection, SocialConnectionNode, SocialConnectionPayload, UpdateSocialConnectionInput } from './social-connection.types.js';
import { effectiveSettings, SOCIAL_PRESETS } from './social-presets.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => SocialConnectionNode)
export class SocialConnectionResolver {
  @Query(() => SocialConnectionConnection, { description: 'Social connections of an environment (the buttons of its sign-in page), oldest first. Needs `environments:read`.' })
  async socialConnections(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return pageConnection(await listSocialConnections(services(ctx), environmentId, page, ctx.config.maxPageSize));
  }

  @FieldResolver(() => String)
  redirectUri(@Root() connection: SocialConnection, @Ctx() ctx: GraphQLContext): string {
    return socialRedirectUri(issuerFor(ctx.config.publicUrl, connection.environmentId));
  }

  @FieldResolver(() => [String])
  scopes(@Root() connection: SocialConnection): string[] {
    return effectiveSettings(connection).scopes;
  }

  @FieldResolver(() => String, { nullable: true })
  issuer(@Root() connection: SocialConnection): string | null {
    return effectiveSettings(connection).issuer;
  }

  @FieldResolver(() => String, { nullable: true })
  authorizationUrl(@Root() connection: SocialConnection): string | null {
    return effectiveSettings(connection).authorizationUrl;
  }

  @FieldResolver(() => String, { nullable: true })
  tokenUrl(@Root() connection: SocialConnection): string | null {
    return effectiveSettings(connection).tokenUrl;
  }

  @FieldResolver(() => String, { nullable: true })
  userinfoUrl(@Root() connection: SocialConnection): string | null {
    return effectiveSettings(connection).userinfoUrl;
  }

  @FieldResolver(() => String)
  setupHint(@Root() connection: SocialConnection): string {
    return SOCIAL_PRESETS[connection.provider].console;
  }

  @Mutation(() => SocialConnectionPayload, { description: 'Adds a social connection (a "Continue with …" button) to an environment, at most 10. Needs `environments:write`.' })
  createSocialConnection(@Arg('input', INPUT) input: CreateSocialConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ socialConnection: await createSocialConnection(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => SocialConnectionPayload, {
    description: 'Changes a social connection. A new issuer or endpoint forgets who signed in through it (another provider\'s subjects are not the same people). Needs `environments:write`.',
  })
  updateSocialConnection(@Arg('input', INPUT) input: UpdateSocialConnectionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ socialConnection: await updateSocialConnection(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a social connection. Needs `environments:write`.' })
  deleteSocialConnection(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteSocialConnection(services(ctx), input) }));
  }
}
