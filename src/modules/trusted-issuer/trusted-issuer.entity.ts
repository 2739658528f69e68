import { Entity, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

/** An external token issuer whose tokens may be exchanged (RFC 8693) for this environment's. */
@Entity({ tableName: 'trusted_issuer' })
@Unique({ properties: ['environmentId', 'issuer'] })
export class TrustedIssuer extends BaseEntity<'jwks' | 'jwksUri'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  name!: string;

  /** Its `iss`, compared exactly. */
  @Property({ type: 'text' })
  issuer!: string;

  @Property({ type: 'jsonb', nullable: true })
  jwks: { keys: Record<string, unknown>[] } | null = null;

  @Property({ type: 'text', nullable: true })
  jwksUri: string | null = null;

  /** Audiences its tokens must carry to be accepted (one of them); typically our issuer. */
  @Property({ type: 'text[]' })
  audiences!: string[];
}
