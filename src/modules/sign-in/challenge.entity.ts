import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

/**
 * A passwordless sign-in in progress: a 6-digit one-time code and a magic link mailed to
 * `email`, either of which proves the person reads that mailbox. Single use, short-lived, and
 * dead after a few wrong codes. The code is sealed with the master key (a million possible
 * codes would not survive a leaked table as a hash); the link token is 256 bits, kept as its
 * SHA-256.
 */
@Entity({ tableName: 'sign_in_challenge' })
@Index({ properties: ['environmentId', 'email', 'createdAt'] })
@Index({ properties: ['environmentId', 'requestIp', 'createdAt'] })
export class SignInChallenge extends BaseEntity<'attempts' | 'consumedAt' | 'flowId'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  /** Normalised (lower-case) address the code was sent to. */
  @Property({ type: 'text' })
  email!: string;

  @Property({ type: 'text' })
  codeSealed!: string;

  @Property({ type: 'text' })
  @Unique()
  linkTokenHash!: string;

  /** Wrong codes entered so far. */
  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** When a right code or the link was used; it can never be used again. */
  @Property({ type: 'datetime', nullable: true })
  consumedAt: Date | null = null;

  /** Address the sign-in was asked from (the per-address limit). */
  @Property({ type: 'text' })
  requestIp!: string;

  /** The sign-in flow (authorization request) it belongs to, when there is one. */
  @Property({ type: 'text', nullable: true })
  flowId: string | null = null;
}
