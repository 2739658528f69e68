import { Entity, Enum, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Workspace } from '../workspace/workspace.entity.js';

export enum EnvironmentKind {
  DEVELOPMENT = 'DEVELOPMENT',
  PRODUCTION = 'PRODUCTION',
}

/** Who may register OAuth clients through RFC 7591 dynamic client registration. */
export enum ClientRegistrationPolicy {
  OFF = 'OFF',
  INITIAL_ACCESS_TOKEN = 'INITIAL_ACCESS_TOKEN',
  OPEN = 'OPEN',
}

@Entity({ tableName: 'environment' })
@Unique({ properties: ['workspaceId', 'slug'] })
export class Environment extends BaseEntity<'auditRetentionDays' | 'clientRegistrationPolicy' | 'initialAccessTokenHash' | 'registrationScopes'> {
  @ManyToOne({ entity: () => Workspace, mapToPk: true, fieldName: 'workspace_id', deleteRule: 'cascade' })
  workspaceId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  slug!: string;

  @Enum({ items: () => EnvironmentKind, nativeEnumName: 'environment_kind' })
  kind!: EnvironmentKind;

  /** Audit events older than this many days are pruned (a checkpoint keeps the chain verifiable); null keeps them forever. */
  @Property({ type: 'integer', nullable: true })
  auditRetentionDays: number | null = null;

  @Enum({ items: () => ClientRegistrationPolicy, nativeEnumName: 'client_registration_policy', default: ClientRegistrationPolicy.OFF })
  clientRegistrationPolicy: ClientRegistrationPolicy = ClientRegistrationPolicy.OFF;

  /** SHA-256 of the initial access token that registration requires under INITIAL_ACCESS_TOKEN. */
  @Property({ type: 'text', nullable: true })
  @Unique()
  initialAccessTokenHash: string | null = null;

  /** Scopes a dynamically registered client may ask for; empty lets it ask for none. */
  @Property({ type: 'text[]', default: '{}' })
  registrationScopes: string[] = [];
}
