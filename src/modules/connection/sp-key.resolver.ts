import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { Cost } from '../../graphql/cost.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import type { SsoConnection } from './connection.entity.js';
import { SsoConnectionNode } from './connection.types.js';
import { MAX_SP_KEYS_PER_USE, createSpKey, deleteSpKey } from './sp-key.service.js';
import { CreateSsoSpKeyInput, SpKeyNode, SsoSpKeyPayload } from './sp-key.types.js';

const INPUT = { description: 'What to do; see the input type.' };

@Resolver(() => SsoConnectionNode)
export class SpKeyResolver {
  @Cost({ maxItems: 2 * MAX_SP_KEYS_PER_USE })
  @FieldResolver(() => [SpKeyNode], { description: 'Gatehouse\'s SP key pairs for this connection (SAML only), newest first.' })
  spKeys(@Root() connection: SsoConnection, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.spKeysByConnection.load(connection.id);
  }

  @Mutation(() => SsoSpKeyPayload, {
    description:
      'Makes an SP key pair for a SAML connection: a SIGNING key signs AuthnRequests from now on; an ENCRYPTION key is offered to the IdP in the SP metadata and decrypts beside the older ones. Give the IdP the new metadata or certificate. Needs `organizations:write`.',
  })
  createSsoSpKey(@Arg('input', INPUT) input: CreateSsoSpKeyInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ spKey: await createSpKey(services(ctx), ctx.secretBox, input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes an SP key pair (the end of a rotation). Needs `organizations:write`.' })
  deleteSsoSpKey(@Arg('input', INPUT) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteSpKey(services(ctx), input) }));
  }
}
