import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { SsoConnection, SsoConnectionType } from './connection.entity.js';

export enum SsoTraceOutcome {
  /** Sent to the IdP; no answer yet (or never). */
  STARTED = 'STARTED',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

/** One step of an attempt, in order. */
export interface SsoTraceStep {
  at: string;
  step: string;
  ok: boolean;
  detail?: string;
}

/**
 * One attempt to sign in through a connection, from the request sent to the IdP to the
 * outcome: the steps, the reason of a failure, the SAML messages or the OIDC claims. It answers
 * "why can't our users sign in" without logs, and is kept for the retention period
 * (`GATEHOUSE_SSO_TRACE_RETENTION_DAYS`). Nothing secret is kept: no token, code, state or
 * verifier; an encrypted assertion only as received, its content as the verified attributes.
 */
@Entity({ tableName: 'sso_trace' })
@Index({ properties: ['environmentId', 'createdAt'] })
@Index({ properties: ['connectionId', 'createdAt'] })
@Index({ properties: ['organizationId', 'createdAt'] })
@Index({ properties: ['expiresAt'] })
export class SsoTrace extends BaseEntity<'outcome' | 'reason' | 'detail' | 'steps' | 'flowId' | 'userId' | 'email' | 'requestIds' | 'samlRequest' | 'samlResponse' | 'profile'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  organizationId!: string;

  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade' })
  connectionId!: string;

  @Enum({ items: () => SsoConnectionType, nativeEnumName: 'sso_connection_type' })
  protocol!: SsoConnectionType;

  @Enum({ items: () => SsoTraceOutcome, nativeEnumName: 'sso_trace_outcome', default: SsoTraceOutcome.STARTED })
  outcome: SsoTraceOutcome = SsoTraceOutcome.STARTED;

  /** The failure's stable code (`sso.<reason>` on the error page). */
  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  @Property({ type: 'text', nullable: true })
  detail: string | null = null;

  @Property({ type: 'jsonb', default: '[]' })
  steps: SsoTraceStep[] = [];

  @Property({ type: 'text', nullable: true })
  flowId: string | null = null;

  /** Who signed in (a user id; the user may have been deleted since). */
  @Property({ type: 'text', nullable: true })
  userId: string | null = null;

  @Property({ type: 'text', nullable: true })
  email: string | null = null;

  /** The HTTP request ids of the attempt: the one an error page showed finds its trace. */
  @Property({ type: 'text[]', default: '{}' })
  requestIds: string[] = [];

  /** The AuthnRequest sent (SAML). */
  @Property({ type: 'text', nullable: true })
  samlRequest: string | null = null;

  /** The IdP's response as posted, decoded, at most 64 KiB (SAML). */
  @Property({ type: 'text', nullable: true })
  samlResponse: string | null = null;

  /** What the IdP said about the person: the verified NameID and attributes (SAML) or claims (OIDC). */
  @Property({ type: 'jsonb', nullable: true })
  profile: Record<string, unknown> | null = null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
