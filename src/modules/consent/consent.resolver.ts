import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { pageArgsFor, pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { UserType } from '../user/user.types.js';
import type { Consent } from './consent.entity.js';
import { listConsents, revokeConsent } from './consent.service.js';
import { ConsentConnection, ConsentFilterInput, ConsentType } from './consent.types.js';

/** A page hands over plain rows, node(id:) an entity; a type alias reflects as `Object` and passes through as is. */
type ConsentRow = Pick<Consent, 'userId' | 'clientId'>;

@Resolver(() => ConsentType)
export class ConsentResolver {
  @FieldResolver(() => UserType, { description: 'The person who consented.' })
  user(@Root() consent: ConsentRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'users:read');
    return ctx.loaders.user.load(consent.userId);
  }

  @FieldResolver(() => ID, { description: 'The application consented to (its OAuth `client_id`).' })
  applicationId(@Root() consent: ConsentRow) {
    return consent.clientId;
  }

  @Query(() => ConsentConnection, { description: 'What users of an environment granted third-party applications, newest first. Needs `users:read`.' })
  async consents(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' }) environmentId?: string,
    @Arg('filter', () => ConsentFilterInput, { nullable: true, description: 'Conditions to match.' }) filter?: ConsentFilterInput,
  ) {
    return pageConnection(await listConsents(services(ctx), { environmentId, filter }, pageArgsFor(page, info), ctx.config.maxPageSize));
  }

  @Mutation(() => DeletePayload, {
    description:
      'Withdraws a consent: the application must ask again, and the refresh tokens it holds for the user are revoked with their access tokens. Needs `users:write`.',
  })
  revokeConsent(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await revokeConsent(services(ctx), input) }));
  }
}
