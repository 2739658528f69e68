import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection, OrderDirection } from '../graphql/connection.js';
import { Node } from '../graphql/node.js';
import { JSONObjectScalar } from '../graphql/scalars.js';
import { ActorType } from './audit-event.entity.js';
import { Cost } from '../graphql/cost.js';

/** Targets shown per event; an event may name more (all stay stored, hashed and filterable by `targetId`). */
export const MAX_AUDIT_TARGETS = 20;
/** `totalCount` of audit events counts a table that only grows: priced at a tenth of the default budget. */
const AUDIT_COUNT_PRICE = 2000;

registerEnumType(ActorType, {
  name: 'AuditActorType',
  description: 'Kind of actor behind an audit event.',
  valuesConfig: {
    API_KEY: { description: 'A management API key.' },
    OAUTH_CLIENT: { description: 'An OAuth client (service account or application) authenticated at a token endpoint.' },
    USER: { description: 'A person of the environment, acting through the hosted sign-in pages.' },
    DIRECTORY: { description: 'An organization\'s identity provider, provisioning through its SCIM directory (`actor.id` is the directory).' },
    SYSTEM: { description: 'Gatehouse itself (bootstrap, scheduled jobs).' },
    ANONYMOUS: { description: 'An unauthenticated caller.' },
  },
});

@ObjectType('AuditActor', { simpleResolvers: true, description: 'Who caused an audit event.' })
export class AuditActorType {
  @Field(() => ActorType, { description: 'Kind of actor.' })
  type!: ActorType;

  @Field(() => ID, { nullable: true, description: 'Id of the actor (e.g. the API key).' })
  id!: string | null;

  @Field(() => String, { nullable: true, description: 'Name of the actor at the time.' })
  name!: string | null;
}

@ObjectType('AuditTarget', { simpleResolvers: true, description: 'An object an audit event is about.' })
export class AuditTargetType {
  @Field({ description: 'Kind of object, e.g. `organization`.' })
  type!: string;

  @Field(() => ID, { description: 'Its id.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'Its name at the time.' })
  name?: string | null;
}

@ObjectType('AuditEvent', { simpleResolvers: true, implements: Node, description: 'An append-only record of a change or security event.' })
export class AuditEventType extends Node {
  @Field({ description: 'Monotonic position in the log; resume after it.' })
  sequence!: string;

  @Field({ description: '`resource.past_verb`, e.g. `organization.created`.' })
  action!: string;

  @Field(() => AuditActorType, { description: 'Who did it.' })
  actor!: AuditActorType;

  @Cost({ maxItems: MAX_AUDIT_TARGETS })
  @Field(() => [AuditTargetType], { description: `What it was done to (the first ${MAX_AUDIT_TARGETS}).` })
  targets!: AuditTargetType[];

  @Field(() => ID, { nullable: true, description: 'Environment, or null for workspace-level events.' })
  environmentId!: string | null;

  @Field(() => ID, { nullable: true, description: 'Organization the event concerns, if any.' })
  organizationId!: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'State before the change, secrets redacted.' })
  before!: Record<string, unknown> | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'State after the change, secrets redacted.' })
  after!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'Client IP address.' })
  ip!: string | null;

  @Field(() => String, { nullable: true, description: 'Client user agent.' })
  userAgent!: string | null;

  @Field(() => String, { nullable: true, description: 'Id of the request that caused it.' })
  requestId!: string | null;

  @Field({ description: 'When it happened.' })
  occurredAt!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'SHA-256 (hex) over this event\'s canonical content and `previousHash`: the chain that makes tampering evident.',
  })
  hash!: string | null;

  @Field(() => String, { nullable: true, description: 'Hash of the previous event of the same chain (64 zeros for the first).' })
  previousHash!: string | null;
}

export enum AuditChainBreakReason {
  CONTENT_ALTERED = 'CONTENT_ALTERED',
  LINK_BROKEN = 'LINK_BROKEN',
}
registerEnumType(AuditChainBreakReason, {
  name: 'AuditChainBreakReason',
  description: 'How the chain is broken at the first bad event.',
  valuesConfig: {
    CONTENT_ALTERED: { description: 'The event\'s content no longer matches its hash: it was changed after it was written.' },
    LINK_BROKEN: { description: 'The event does not follow the one before it: an event was removed, inserted or re-hashed.' },
  },
});

@ObjectType('AuditChainVerification', { simpleResolvers: true, description: 'Result of recomputing an audit chain.' })
export class AuditChainVerificationType {
  @Field({ description: 'Which chain: an environment id, or `wks:<workspace id>` for workspace-level events.' })
  chainKey!: string;

  @Field({ description: 'Whether every event checked is intact and linked.' })
  valid!: boolean;

  @Field({ description: 'Whether the check reached the end of the range (or a break); when false, continue with `afterSequence: headSequence`.' })
  complete!: boolean;

  @Field(() => Int, { description: 'Events checked (up to and including the first broken one).' })
  eventsChecked!: number;

  @Field(() => String, { nullable: true, description: 'Sequence of the first broken event.' })
  firstBrokenSequence!: string | null;

  @Field(() => ID, { nullable: true, description: 'Id of the first broken event.' })
  firstBrokenEventId!: string | null;

  @Field(() => AuditChainBreakReason, { nullable: true, description: 'How it is broken.' })
  reason!: AuditChainBreakReason | null;

  @Field(() => String, { nullable: true, description: 'Hash of the last intact event checked; keep it elsewhere to anchor the chain.' })
  headHash!: string | null;

  @Field(() => String, { nullable: true, description: 'Sequence of the last intact event checked.' })
  headSequence!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A page of audit events.' })
export class AuditEventConnection extends Connection(AuditEventType, 'AuditEvent', { countPrice: AUDIT_COUNT_PRICE }) {}

@InputType({ description: 'Narrows a list of audit events; all given conditions must hold.' })
export class AuditEventFilterInput {
  @Field(() => [String], { nullable: true, description: 'Actions, exact or as a prefix like `organization.*`.' })
  actions?: string[];

  @Field(() => ID, { nullable: true, description: 'Events of this actor.' })
  actorId?: string;

  @Field(() => ID, { nullable: true, description: 'Events about this object.' })
  targetId?: string;

  @Field(() => ID, { nullable: true, description: 'Events concerning this organization.' })
  organizationId?: string;

  @Field(() => Date, { nullable: true, description: 'At or after this time.' })
  occurredAfter?: Date;

  @Field(() => Date, { nullable: true, description: 'Before this time.' })
  occurredBefore?: Date;
}

@InputType({ description: 'Order of audit events (by sequence).' })
export class AuditEventOrder {
  @Field(() => OrderDirection, { description: 'DESC: newest first (default); ASC: oldest first.' })
  direction!: OrderDirection;
}
