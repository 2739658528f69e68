import { Entity, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';

/** A customer of the builder's app (a tenant). */
@Entity({ tableName: 'organization' })
@Unique({ properties: ['environmentId', 'externalId'] })
@Index({ properties: ['environmentId', 'createdAt', 'id'] })
@Index({ name: 'organization_environment_id_name_index', expression: 'create index "organization_environment_id_name_index" on "organization" ("environment_id", lower("name") text_pattern_ops, "id")' })
export class Organization extends BaseEntity<'externalId' | 'metadata' | 'requireSso'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Property({ type: 'jsonb' })
  metadata: Record<string, unknown> = {};

  /**
   * Its people sign in through its SSO connections only: an address of its verified domains is
   * never sent a sign-in code or link.
   */
  @Property({ type: 'boolean', default: false })
  requireSso: boolean = false;
}

export enum DomainState {
  PENDING = 'PENDING',
  VERIFIED = 'VERIFIED',
  FAILED = 'FAILED',
}

/** An email domain of an organization, used for home-realm discovery once verified. */
@Entity({ tableName: 'organization_domain' })
@Unique({ properties: ['environmentId', 'domain'] })
export class OrganizationDomain extends BaseEntity<'state' | 'verifiedAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade', index: true })
  organizationId!: string;

  /** Lower-case, without a trailing dot. */
  @Property({ type: 'text' })
  domain!: string;

  @Property({ type: 'text', default: DomainState.PENDING })
  state: DomainState = DomainState.PENDING;

  /** The value to publish in a DNS TXT record to prove ownership. */
  @Property({ type: 'text' })
  verificationToken!: string;

  @Property({ type: 'datetime', nullable: true })
  verifiedAt: Date | null = null;
}
