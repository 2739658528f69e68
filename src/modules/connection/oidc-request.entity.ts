import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { SocialConnection } from '../social/social-connection.entity.js';
import { SsoConnection } from './connection.entity.js';

/**
 * An authorization request Gatehouse sent to an organization's OpenID Provider, kept
 * server-side: the callback finds it by its `state` (stored hashed), and it binds the answer
 * to the flow and browser that started it, to the PKCE verifier and to the nonce the ID token
 * must carry. Used once. It was sent for an organization's SSO connection or for a social
 * connection of the environment: exactly one of the two is set.
 */
@Entity({ tableName: 'oidc_request' })
@Index({ properties: ['expiresAt'] })
export class OidcRequest extends BaseEntity<'completedAt' | 'traceId' | 'maxAge' | 'forceAuthn' | 'connectionId' | 'socialConnectionId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => SsoConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade', index: true, nullable: true })
  connectionId: string | null = null;

  @ManyToOne({ entity: () => SocialConnection, mapToPk: true, fieldName: 'social_connection_id', deleteRule: 'cascade', index: true, nullable: true })
  socialConnectionId: string | null = null;

  /** The sign-in flow it authenticates for. */
  @Property({ type: 'text', index: true })
  flowId!: string;

  /** SHA-256 of the `state` sent: whoever reads the table cannot answer for a pending request. */
  @Property({ type: 'text' })
  @Unique()
  stateHash!: string;

  /** The ID token's `nonce` must equal it. */
  @Property({ type: 'text' })
  nonce!: string;

  /**
   * The PKCE code verifier (RFC 7636), sent with the code. Without the code it is worth
   * nothing, and it lives minutes.
   */
  @Property({ type: 'text' })
  codeVerifier!: string;

  /** The application's max_age, passed on: the ID token's auth_time must honour it. */
  @Property({ type: 'integer', nullable: true })
  maxAge: number | null = null;

  /** A fresh sign-in was asked for (prompt=login): an auth_time before the request is refused. */
  @Property({ type: 'boolean', default: false })
  forceAuthn: boolean = false;

  /** The sign-in trace of the attempt (its id; the trace may be gone before the request). */
  @Property({ type: 'text', nullable: true })
  traceId: string | null = null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** When the callback used it: a second callback with the same state is refused. */
  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;
}
