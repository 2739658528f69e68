import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { Cost } from '../../graphql/cost.js';
import type { User } from '../user/user.entity.js';
import { UserType } from '../user/user.types.js';
import { MAX_USER_IDENTITIES } from './identity.loader.js';
import { UserIdentityType } from './identity.types.js';

@Resolver(() => UserType)
export class UserIdentityResolver {
  @Cost({ maxItems: MAX_USER_IDENTITIES })
  @FieldResolver(() => [UserIdentityType], {
    description: `The user's accounts at identity providers (SSO and social connections), most recently used first, at most ${MAX_USER_IDENTITIES}, with what each sent at the latest sign-in.`,
  })
  identities(@Root() user: User, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.identitiesByUser.load(user.id);
  }
}
