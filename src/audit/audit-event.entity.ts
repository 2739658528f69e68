import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

export enum ActorType {
  API_KEY = 'API_KEY',
  /** An OAuth client (service account or application) authenticated at the token endpoint. */
  OAUTH_CLIENT = 'OAUTH_CLIENT',
  /** A person of an environment, acting through the hosted pages (signing in, consenting, signing out). */
  USER = 'USER',
  /** An organization's identity provider, provisioning through its SCIM directory. */
  DIRECTORY = 'DIRECTORY',
  SYSTEM = 'SYSTEM',
  ANONYMOUS = 'ANONYMOUS',
}

export interface AuditTarget {
  type: string;
  id: string;
  name?: string;
}

/**
 * Append-only record of a change or security event. `seq` is the monotonic cursor that
 * pagination and (later) live streaming resume from. Environment and workspace ids are
 * plain columns, not foreign keys, so the trail outlives what it describes.
 */
@Entity({ tableName: 'audit_event' })
@Index({ properties: ['environmentId', 'seq'] })
@Index({ properties: ['chainKey', 'seq'] })
@Index({ properties: ['workspaceId', 'seq'] })
@Index({ properties: ['environmentId', 'occurredAt'] })
@Index({ name: 'audit_event_target_ids_index', expression: 'create index "audit_event_target_ids_index" on "audit_event" using gin ("target_ids")' })
export class AuditEvent {
  [OptionalProps]?: 'seq';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  seq!: string;

  @Property({ type: 'text' })
  @Unique()
  id!: string;

  /** Null only for failed authentications that no credential could be tied to. */
  @Property({ type: 'text', nullable: true })
  workspaceId!: string | null;

  /** Null for workspace-level events (API keys, environments). */
  @Property({ type: 'text', nullable: true })
  environmentId!: string | null;

  @Property({ type: 'text', nullable: true, index: true })
  organizationId!: string | null;

  /** `resource.past_verb`, e.g. `organization.created`. */
  @Property({ type: 'text' })
  action!: string;

  @Property({ type: 'text' })
  actorType!: ActorType;

  @Property({ type: 'text', nullable: true })
  actorId!: string | null;

  @Property({ type: 'text', nullable: true })
  actorName!: string | null;

  @Property({ type: 'jsonb' })
  targets!: AuditTarget[];

  /** Ids of `targets`, for indexed filtering. */
  @Property({ type: 'text[]' })
  targetIds!: string[];

  @Property({ type: 'jsonb', nullable: true })
  before!: Record<string, unknown> | null;

  @Property({ type: 'jsonb', nullable: true })
  after!: Record<string, unknown> | null;

  @Property({ type: 'text', nullable: true })
  ip!: string | null;

  @Property({ type: 'text', nullable: true })
  userAgent!: string | null;

  @Property({ type: 'text', nullable: true })
  requestId!: string | null;

  @Property({ type: 'datetime' })
  occurredAt!: Date;

  /**
   * The chain this event belongs to (its environment, `wks:<id>` for workspace-level events,
   * `global` for unattributed ones), its predecessor's hash and its own hash. Set by the
   * `audit_event_chain` trigger, which also serialises appends per chain: see the migration.
   */
  @Property({ type: 'text', nullable: true })
  chainKey?: string | null;

  @Property({ type: 'text', nullable: true })
  prevHash?: string | null;

  @Property({ type: 'text', nullable: true })
  hash?: string | null;
}
