import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { OrderDirection, pageConnection, PageArgsType } from '../graphql/connection.js';
import { services, type GraphQLContext } from '../graphql/context.js';
import type { AuditEvent } from './audit-event.entity.js';
import { listAuditEvents, verifyAuditChain } from './audit.service.js';
import { AuditActorType, AuditChainVerificationType, AuditEventConnection, AuditEventFilterInput, AuditEventOrder, AuditEventType } from './audit.types.js';

@Resolver(() => AuditEventType)
export class AuditResolver {
  @Query(() => AuditEventConnection, {
    description:
      'Audit events, newest first. With a workspace-wide key and no environmentId: the whole workspace. Needs `audit:read`.',
  })
  async auditEvents(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Only this environment.' }) environmentId?: string,
    @Arg('filter', () => AuditEventFilterInput, { nullable: true, description: 'Conditions to match.' })
    filter?: AuditEventFilterInput,
    @Arg('orderBy', () => AuditEventOrder, { nullable: true, description: 'Order; newest first by default.' })
    orderBy?: AuditEventOrder,
  ) {
    const direction = orderBy?.direction ?? OrderDirection.DESC;
    return pageConnection(await listAuditEvents(services(ctx), { environmentId, filter, direction }, page, ctx.config.maxPageSize));
  }

  @Query(() => AuditChainVerificationType, {
    description:
      'Recomputes the hash chain of an environment\'s audit events (or, for a workspace-wide key without environmentId, of the workspace-level events) and reports the first broken link. Needs `audit:read`.',
  })
  async auditChainVerification(
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'The environment whose chain to check.' }) environmentId?: string,
    @Arg('from', () => Date, { nullable: true, description: 'Only events that occurred at or after this time.' }) from?: Date,
    @Arg('to', () => Date, { nullable: true, description: 'Only events that occurred before this time.' }) to?: Date,
  ) {
    const result = await verifyAuditChain(services(ctx), { environmentId, from, to });
    return {
      chainKey: result.chainKey,
      valid: result.firstBreak === null,
      eventsChecked: result.eventsChecked,
      firstBrokenSequence: result.firstBreak?.seq ?? null,
      firstBrokenEventId: result.firstBreak?.id ?? null,
      reason: result.firstBreak?.reason ?? null,
      headHash: result.headHash,
      headSequence: result.headSeq,
    };
  }

  @FieldResolver(() => String, { nullable: true })
  previousHash(@Root() event: AuditEvent) {
    return event.prevHash ?? null;
  }

  @FieldResolver(() => String)
  sequence(@Root() event: AuditEvent) {
    return String(event.seq);
  }

  @FieldResolver(() => AuditActorType)
  actor(@Root() event: AuditEvent) {
    return { type: event.actorType, id: event.actorId, name: event.actorName };
  }
}
