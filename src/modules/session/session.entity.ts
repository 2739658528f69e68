import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { User } from '../user/user.entity.js';

/** Why a session ended (what `session.revoked` and the GraphQL API report). */
export type SessionEndReason = 'signed_out' | 'revoked' | 'user_suspended' | 'user_deprovisioned' | 'membership_removed' | 'replaced';

/**
 * A person signed in to an environment in one browser: single sign-on across the
 * environment's applications until it idles out, reaches its absolute lifetime, or is ended
 * (sign-out, revocation, the user suspended or removed). The browser holds a 256-bit token in
 * a cookie; only its SHA-256 is kept.
 */
@Entity({ tableName: 'user_session' })
@Index({ properties: ['environmentId', 'userId', 'createdAt'] })
@Index({ properties: ['expiresAt'] })
export class UserSession extends BaseEntity<'endedAt' | 'endReason' | 'clientIds' | 'organizationIds' | 'userAgent' | 'ip'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade' })
  userId!: string;

  @Property({ type: 'text' })
  @Unique()
  tokenHash!: string;

  /** When the person last proved who they are (OIDC `auth_time`). */
  @Property({ type: 'datetime' })
  authTime!: Date;

  /** How they proved it (OIDC `amr`, RFC 8176 values: `otp`, `mail`, …). */
  @Property({ type: 'text[]' })
  amr!: string[];

  @Property({ type: 'datetime' })
  lastSeenAt!: Date;

  /** The idle deadline: moved forward on use, never past `absoluteExpiresAt`. */
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime' })
  absoluteExpiresAt!: Date;

  @Property({ type: 'text', nullable: true })
  ip: string | null = null;

  @Property({ type: 'text', nullable: true })
  userAgent: string | null = null;

  /** Applications that got a code through this session (whom back-channel logout tells). */
  @Property({ type: 'text[]' })
  clientIds: string[] = [];

  /** Organizations the person signed in to applications as, in this session. */
  @Property({ type: 'text[]' })
  organizationIds: string[] = [];

  @Property({ type: 'datetime', nullable: true })
  endedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  endReason: SessionEndReason | null = null;
}
