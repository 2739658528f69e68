import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { listOutbox, sendTestEmail } from './email.service.js';
import { EmailTransport, OutboxMessageConnection, OutboxMessageType, SendTestEmailInput, SendTestEmailPayload } from './email.types.js';

@Resolver(() => OutboxMessageType)
export class EmailResolver {
  @Query(() => OutboxMessageConnection, {
    description:
      'Messages a DEVELOPMENT environment kept instead of sending (the server has no SMTP server), newest first. They hold sign-in codes and links, so this needs `users:write`.',
  })
  async developmentOutbox(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return pageConnection(await listOutbox(services(ctx), { environmentId }, page, ctx.config.maxPageSize));
  }

  @Mutation(() => SendTestEmailPayload, {
    description: 'Sends a test message: through SMTP when configured, else into a DEVELOPMENT environment\'s outbox. Needs `environments:write`; five per minute per workspace.',
  })
  sendTestEmail(@Arg('input', { description: 'What to do; see the input type.' }) input: SendTestEmailInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => {
      const delivery = await sendTestEmail(services(ctx), ctx.email, input);
      return { delivery: delivery.via === 'smtp' ? { via: EmailTransport.SMTP, messageId: delivery.messageId } : { via: EmailTransport.OUTBOX, messageId: null } };
    });
  }
}
