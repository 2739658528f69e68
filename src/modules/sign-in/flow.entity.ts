import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';

/**
 * An authorization request waiting for its person: what the application asked for, checked,
 * kept server-side while the hosted pages run (email, code, organization, consent). It is
 * bound to the browser that started it (the SHA-256 of a cookie), so a link or form of one
 * browser's flow does nothing in another's.
 */
@Entity({ tableName: 'sign_in_flow' })
@Index({ properties: ['expiresAt'] })
export class SignInFlow extends BaseEntity<'completedAt' | 'organizationId' | 'consentGiven'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  /** The checked request (AuthorizationRequest of the authorization endpoint). */
  @Property({ type: 'jsonb' })
  request!: Record<string, unknown>;

  @Property({ type: 'text' })
  browserHash!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** The organization the person chose (or the only one they belong to). */
  @Property({ type: 'text', nullable: true })
  organizationId: string | null = null;

  /** The person agreed to what a third-party application asked for in this flow. */
  @Property({ type: 'boolean', default: false })
  consentGiven: boolean = false;

  /** When a code (or an error) went back to the application: the flow is over. */
  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;
}

/**
 * A pushed authorization request (RFC 9126): parameters a client sent, authenticated, to the
 * PAR endpoint, redeemed once within a minute by the `request_uri` it got back.
 */
@Entity({ tableName: 'pushed_authorization_request' })
@Index({ properties: ['expiresAt'] })
export class PushedAuthorizationRequest extends BaseEntity<'usedAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  @Property({ type: 'text' })
  @Unique()
  handleHash!: string;

  /** The parameters, each name with its values. */
  @Property({ type: 'jsonb' })
  params!: Record<string, string[]>;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;
}
