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

/** Who may become a user by signing in (hosted sign-in). */
export enum SignUpPolicy {
  /** Anyone who proves their email address becomes a user of the environment. */
  OPEN = 'OPEN',
  /** Only people who already are users (created through the API or invited) may sign in. */
  INVITE_ONLY = 'INVITE_ONLY',
}

/** Bounds and defaults of an environment's browser sessions, in seconds. */
export const SESSION_LIFETIMES = {
  idle: { min: 300, max: 30 * 86_400, default: 7 * 86_400 },
  absolute: { min: 300, max: 365 * 86_400, default: 30 * 86_400 },
} as const;

@Entity({ tableName: 'environment' })
@Unique({ properties: ['workspaceId', 'slug'] })
export class Environment extends BaseEntity<
  'auditRetentionDays' | 'clientRegistrationPolicy' | 'initialAccessTokenHash' | 'registrationScopes' | 'signUpPolicy' | 'sessionIdleTtl' | 'sessionAbsoluteTtl' | 'logoUrl'
> {
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

  @Enum({ items: () => SignUpPolicy, nativeEnumName: 'sign_up_policy', default: SignUpPolicy.OPEN })
  signUpPolicy: SignUpPolicy = SignUpPolicy.OPEN;

  /** An https image the hosted pages show above their title (loaded by the browser, never fetched by the server). */
  @Property({ type: 'text', nullable: true })
  logoUrl: string | null = null;

  /** A browser session unused this long (seconds) ends. */
  @Property({ type: 'integer', default: 604800 })
  sessionIdleTtl: number = SESSION_LIFETIMES.idle.default;

  /** A browser session ends this long (seconds) after sign-in, however it is used. */
  @Property({ type: 'integer', default: 2592000 })
  sessionAbsoluteTtl: number = SESSION_LIFETIMES.absolute.default;
}
