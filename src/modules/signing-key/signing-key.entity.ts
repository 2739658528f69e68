import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

export type { SigningAlgorithm } from '../../crypto/signing-keys.js';
import type { SigningAlgorithm } from '../../crypto/signing-keys.js';

/**
 * A token signing key of an environment. Which key signs is a matter of time: the newest key
 * whose `activatesAt` has passed. A newer key is published in the JWKS before it activates; a
 * superseded key stays published until every token it may have signed has expired.
 */
@Entity({ tableName: 'signing_key' })
@Index({ properties: ['environmentId', 'activatesAt'] })
@Unique({ properties: ['environmentId', 'kid'] })
export class SigningKey extends BaseEntity<'revokedAt' | 'supersededAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  kid!: string;

  @Property({ type: 'text' })
  algorithm!: SigningAlgorithm;

  /** The public JWK as published. */
  @Property({ type: 'jsonb' })
  publicJwk!: Record<string, unknown>;

  /** The private JWK, sealed with the master key (AES-256-GCM, bound to the key id). */
  @Property({ type: 'text' })
  privateSealed!: string;

  /** When it starts signing. */
  @Property({ type: 'datetime' })
  activatesAt!: Date;

  /** When a newer key took over signing (set by the rotation that created the newer key). */
  @Property({ type: 'datetime', nullable: true })
  supersededAt: Date | null = null;

  /** Emergency revocation: unpublished at once; its tokens are no longer accepted. */
  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
