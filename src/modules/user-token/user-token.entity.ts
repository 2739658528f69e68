import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { OAuthClient } from '../oauth-client/oauth-client.entity.js';
import { User } from '../user/user.entity.js';

/** What a person granted an application in one sign-in: carried from the code to every token after it. */
export interface GrantDetails {
  scopes: string[];
  /** The API the access tokens are for (RFC 8707), or null: tokens for the issuer's own userinfo. */
  resource: string | null;
  organizationId: string | null;
  authTime: Date;
  amr: string[];
}

/**
 * What a code and a refresh token both carry: the grant's details, and the access token last
 * issued with them (revoked with them). Not a table: each entity below has these columns.
 */
abstract class UserGrantRecord<Optional extends string = never> extends BaseEntity<Optional | 'resource' | 'organizationId' | 'accessTokenJti' | 'accessTokenExpiresAt'> {
  @Property({ type: 'text[]' })
  scopes!: string[];

  @Property({ type: 'text', nullable: true })
  resource: string | null = null;

  @Property({ type: 'text', nullable: true })
  organizationId: string | null = null;

  @Property({ type: 'datetime' })
  authTime!: Date;

  @Property({ type: 'text[]' })
  amr!: string[];

  @Property({ type: 'text', nullable: true })
  accessTokenJti: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  accessTokenExpiresAt: Date | null = null;
}

/**
 * An authorization code (OAuth 2.1 §4.1.2): single use, at most 60 s, bound to its client,
 * redirect URI and PKCE challenge. Only its SHA-256 is kept. A second use revokes every token
 * issued from it, so the row outlives its use until it expires.
 */
@Entity({ tableName: 'authorization_code' })
@Index({ properties: ['expiresAt'] })
export class AuthorizationCode extends UserGrantRecord<'usedAt' | 'nonce' | 'sessionId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade', index: true })
  environmentId!: string;

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade', index: true })
  userId!: string;

  @Property({ type: 'text', nullable: true, index: true })
  sessionId: string | null = null;

  @Property({ type: 'text' })
  @Unique()
  codeHash!: string;

  @Property({ type: 'text' })
  redirectUri!: string;

  @Property({ type: 'text' })
  codeChallenge!: string;

  @Property({ type: 'text', nullable: true })
  nonce: string | null = null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

}

/**
 * A refresh token (OAuth 2.1 §4.3): rotated on every use, its predecessors kept in the family
 * so that presenting a used one (a stolen copy) revokes the whole family. Idle expiry moves
 * with each rotation; the family's absolute expiry never does. Only the SHA-256 is kept.
 */
@Entity({ tableName: 'refresh_token' })
@Index({ properties: ['familyId'] })
@Index({ properties: ['environmentId', 'userId'] })
@Index({ properties: ['familyExpiresAt'] })
export class RefreshToken extends UserGrantRecord<'usedAt' | 'revokedAt' | 'sessionId' | 'codeId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade', index: true })
  clientId!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade' })
  userId!: string;

  /** The browser session the family was born in: ending the session revokes the family. */
  @Property({ type: 'text', nullable: true, index: true })
  sessionId: string | null = null;

  /** The authorization code the family was born from. */
  @Property({ type: 'text', nullable: true, index: true })
  codeId: string | null = null;

  @Property({ type: 'text' })
  familyId!: string;

  @Property({ type: 'text' })
  @Unique()
  tokenHash!: string;

  /** Idle deadline of this token. */
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** The family's absolute deadline, inherited by every rotation. */
  @Property({ type: 'datetime' })
  familyExpiresAt!: Date;

  /** When it was exchanged for its successor: any later use is a replay. */
  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;

}
