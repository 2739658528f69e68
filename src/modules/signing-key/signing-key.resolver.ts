import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import type { SigningKey } from './signing-key.entity.js';
import { currentSigner, listSigningKeys, revokeSigningKey, rotateSigningKey, SigningKeyState, signingKeyState, unpublishAt } from './signing-key.service.js';
import { RotateSigningKeyInput, SigningKeyIdInput, SigningKeyPayload, SigningKeyType } from './signing-key.types.js';
import { Cost } from '../../graphql/cost.js';

/** Keys listed: every published one (at most 5) and the most recent retired ones. */
const SIGNING_KEYS_LISTED = 50;

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => SigningKeyType)
export class SigningKeyResolver {
  @Cost({ maxItems: SIGNING_KEYS_LISTED })
  @Query(() => [SigningKeyType], { description: `The ${SIGNING_KEYS_LISTED} newest signing keys of an environment, newest first. Needs \`oauth:read\`.` })
  async signingKeys(
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return (await listSigningKeys(services(ctx), environmentId)).slice(0, SIGNING_KEYS_LISTED);
  }

  /** A key's state depends on its siblings (which one signs), loaded once per environment. */
  @FieldResolver(() => SigningKeyState, { description: 'Where it stands now.' })
  async state(@Root() key: SigningKey, @Ctx() ctx: GraphQLContext) {
    const siblings = await ctx.loaders.signingKeysByEnvironment.load(key.environmentId);
    const now = new Date();
    return signingKeyState(key, currentSigner(siblings, now), now);
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When it leaves the JWKS (every token it may have signed has expired by then).' })
  unpublishAt(@Root() key: SigningKey) {
    return key.revokedAt ?? unpublishAt(key);
  }

  // Generating a key pair (RSA above all) is CPU work: one per operation.
  @Cost({ perOperation: 1 })
  @Mutation(() => SigningKeyPayload, {
    description: 'Publishes a new signing key that starts signing after a delay; the current key then retires. Once per operation. Needs `oauth:write`.',
  })
  rotateSigningKey(@Arg('input', INPUT) input: RotateSigningKeyInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ signingKey: await rotateSigningKey(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => SigningKeyPayload, {
    description: 'Revokes a signing key in an emergency: unpublished at once, its tokens rejected; a signing key is replaced at once. Needs `oauth:write`.',
  })
  revokeSigningKey(@Arg('input', INPUT) input: SigningKeyIdInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ signingKey: await revokeSigningKey(services(ctx), ctx.secretBox, input) }));
  }
}
