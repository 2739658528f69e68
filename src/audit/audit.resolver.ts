import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { OrderDirection, pageConnection, PageArgsType } from '../graphql/connection.js';
import { services, type GraphQLContext } from '../graphql/context.js';
import type { AuditEvent } from './audit-event.entity.js';
import { listAuditEvents, openAuditStream, verifyAuditChain } from './audit.service.js';
import { Cost } from '../graphql/cost.js';
import { SLOW_CONSUMER_CLOSE_CODE } from '../graphql/subscription-fanout.js';
import { auditStreamHub, liveAuditQuery, LiveAuditStream } from './audit-stream-hub.js';

/** A verification re-hashes up to 10,000 rows (by default): priced at a twentieth of the default budget. */
const VERIFICATION_PRICE = 1000;
import { AuditActorType, AuditChainVerificationType, AuditTargetType, MAX_AUDIT_TARGETS, AuditEventConnection, AuditEventFilterInput, AuditEventOrder, AuditEventType } from './audit.types.js';

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

  @Cost({ price: VERIFICATION_PRICE, perOperation: 1 })
  @Query(() => AuditChainVerificationType, {
    description:
      "Recomputes the hash chain of an environment's audit events (or, for a workspace-wide key without environmentId, of the workspace-level events) and reports the first broken link. Checks at most GATEHOUSE_AUDIT_VERIFY_MAX_EVENTS (10,000) events per call: when `complete` is false, call again with `afterSequence: headSequence`. Once per operation, a few times a minute per key. Needs `audit:read`.",
  })
  async auditChainVerification(
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'The environment whose chain to check.' }) environmentId?: string,
    @Arg('from', () => Date, { nullable: true, description: 'Only events that occurred at or after this time.' }) from?: Date,
    @Arg('to', () => Date, { nullable: true, description: 'Only events that occurred before this time.' }) to?: Date,
    @Arg('afterSequence', () => String, { nullable: true, description: 'Continue after this event sequence (the `headSequence` of the previous call).' })
    afterSequence?: string,
  ) {
    const result = await verifyAuditChain(services(ctx), { environmentId, from, to, afterSequence }, ctx.verification);
    return {
      chainKey: result.chainKey,
      valid: result.firstBreak === null,
      complete: result.complete,
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

  @FieldResolver(() => [AuditTargetType])
  targets(@Root() event: AuditEvent) {
    return event.targets.slice(0, MAX_AUDIT_TARGETS);
  }

  @FieldResolver(() => AuditActorType)
  actor(@Root() event: AuditEvent) {
    return { type: event.actorType, id: event.actorId, name: event.actorName };
  }
}

export { SLOW_CONSUMER_CLOSE_CODE };

/**
 * Yields what `source` yields; when the consumer takes longer than `stallMs` to ask for the
 * next item (the send of the previous one has not completed), calls `onStall`.
 */
async function* watchConsumer<T>(source: AsyncGenerator<T>, stallMs: number, onStall: () => void): AsyncGenerator<T> {
  try {
    for await (const item of source) {
      const timer = setTimeout(onStall, stallMs);
      try {
        yield item;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await source.return(undefined);
  }
}

interface StreamArgs {
  environmentId?: string | null;
  filter?: AuditEventFilterInput | null;
  after?: string | null;
}

@Resolver(() => AuditEventType)
export class AuditSubscriptionResolver {
  @Subscription(() => AuditEventType, {
    description:
      'Audit events as they commit, over graphql-ws on /graphql. With `after`, first every stored event after that sequence, then live ones: none missed, none repeated. Needs `audit:read`.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, StreamArgs, GraphQLContext>) => {
      const streams = { bus: context.auditBus, tails: context.auditTails };
      const options = { environmentId: args.environmentId, filter: args.filter, after: args.after };
      // Checked now, so a refusal is an error response, not a broken stream.
      const query = liveAuditQuery(services(context), options);
      // The graphql-ws fanout pushes this stream to its subscribers (one read and one
      // rendering per event for all of them, audit-stream-hub.ts); anything else pulls it.
      return new LiveAuditStream(auditStreamHub(streams.bus, streams.tails), query, context.em, () => {
        const stream = openAuditStream(services(context), streams, { ...options, signal: context.connection?.signal });
        const { connection, config } = context;
        if (!connection) return stream;
        return watchConsumer(stream, config.subscriptionStallMs, () =>
          connection.close(SLOW_CONSUMER_CLOSE_CODE, `Slow consumer: an event waited over ${config.subscriptionStallMs} ms to be sent`),
        );
      });
    },
  })
  auditEvents(
    @Root() event: AuditEvent,
    @Arg('environmentId', () => ID, { nullable: true, description: 'The environment; defaults to the key\'s. A workspace-wide key without it streams workspace-level events.' })
    _environmentId?: string,
    @Arg('filter', () => AuditEventFilterInput, { nullable: true, description: 'Conditions to match (actions accept `x.*` prefixes).' })
    _filter?: AuditEventFilterInput,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this event `sequence`; without it, only events from now on.' })
    _after?: string,
  ): AuditEvent {
    return event;
  }
}
