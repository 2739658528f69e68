import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

/** Where an environment's audit events are delivered, signed per the Standard Webhooks spec. */
@Entity({ tableName: 'webhook_endpoint' })
@Index({ properties: ['environmentId', 'createdAt'] })
export class WebhookEndpoint extends BaseEntity<'description' | 'enabled' | 'disabledReason' | 'failingSince'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  url!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** Actions to deliver, exact or `x.*`; empty delivers every event. */
  @Property({ type: 'text[]' })
  eventTypes!: string[];

  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  /** Why Gatehouse disabled the endpoint, when it did. */
  @Property({ type: 'text', nullable: true })
  disabledReason: string | null = null;

  /** The signing secret (`whsec_…`), sealed with the master key. */
  @Property({ type: 'text' })
  secretSealed!: string;

  /** First characters of the secret, to recognise it. */
  @Property({ type: 'text' })
  secretPrefix!: string;

  /** Since when every attempt has failed; null after a success. */
  @Property({ type: 'datetime', nullable: true })
  failingSince: Date | null = null;
}

export enum DeliveryStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

/**
 * One event to one endpoint: the outbox row, written by a trigger in the same transaction as
 * the audit event, then sent (and retried) by the delivery workers of any process.
 */
@Entity({ tableName: 'webhook_delivery' })
@Index({ properties: ['status', 'nextAttemptAt'] })
@Index({ properties: ['endpointId', 'createdAt'] })
export class WebhookDelivery {
  @PrimaryKey({ type: 'text' })
  id!: string;

  @ManyToOne({ entity: () => WebhookEndpoint, mapToPk: true, fieldName: 'endpoint_id', deleteRule: 'cascade' })
  endpointId!: string;

  @Property({ type: 'text' })
  environmentId!: string;

  /** The audit event delivered (not a foreign key: retention may prune it). */
  @Property({ type: 'text' })
  eventId!: string;

  @Property({ type: 'text' })
  eventType!: string;

  @Enum({ items: () => DeliveryStatus, nativeEnumName: 'webhook_delivery_status' })
  status!: DeliveryStatus;

  @Property({ type: 'integer' })
  attempts!: number;

  @Property({ type: 'datetime' })
  nextAttemptAt!: Date;

  /** A worker holds the delivery until then; another may take it over afterwards. */
  @Property({ type: 'datetime', nullable: true })
  lockedUntil!: Date | null;

  @Property({ type: 'datetime', nullable: true })
  lastAttemptAt!: Date | null;

  @Property({ type: 'integer', nullable: true })
  lastStatusCode!: number | null;

  @Property({ type: 'text', nullable: true })
  lastError!: string | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}

/** One HTTP attempt of a delivery. */
@Entity({ tableName: 'webhook_attempt' })
@Index({ properties: ['deliveryId', 'attemptedAt'] })
export class WebhookAttempt {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne({ entity: () => WebhookDelivery, mapToPk: true, fieldName: 'delivery_id', deleteRule: 'cascade' })
  deliveryId!: string;

  @Property({ type: 'datetime' })
  attemptedAt!: Date;

  @Property({ type: 'integer' })
  durationMs!: number;

  @Property({ type: 'integer', nullable: true })
  statusCode!: number | null;

  @Property({ type: 'text', nullable: true })
  error!: string | null;
}
