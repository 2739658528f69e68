import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { OrderDirection, pageConnection, PageArgsType } from '../graphql/connection.js';
import { services, type GraphQLContext } from '../graphql/context.js';
import type { AuditEvent } from './audit-event.entity.js';
import { listAuditEvents } from './audit.service.js';
import { AuditActorType, AuditEventConnection, AuditEventFilterInput, AuditEventOrder, AuditEventType } from './audit.types.js';

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

  @FieldResolver(() => String)
  sequence(@Root() event: AuditEvent) {
    return String(event.seq);
  }

  @FieldResolver(() => AuditActorType)
  actor(@Root() event: AuditEvent) {
    return { type: event.actorType, id: event.actorId, name: event.actorName };
  }
}
