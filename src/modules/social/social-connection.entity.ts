import { Entity, Enum, Index, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { User } from '../user/user.entity.js';

/** Whose accounts a social connection signs people in with: sets its endpoints, scopes and how it reads a profile. */
export enum SocialProvider {
  GOOGLE = 'GOOGLE',
  MICROSOFT = 'MICROSOFT',
  GITHUB = 'GITHUB',
  GITLAB = 'GITLAB',
  /** Any OpenID Provider, by its issuer (discovery). */
  GENERIC_OIDC = 'GENERIC_OIDC',
  /** Any OAuth 2.0 server with a userinfo endpoint that returns OIDC-style claims, by its endpoints. */
  GENERIC_OAUTH2 = 'GENERIC_OAUTH2',
}

/**
 * A way for anyone to sign in to an environment's applications with an account they already
 * have (Google, Microsoft, GitHub, GitLab, or any OAuth 2.0 / OpenID Connect provider): a button
 * on the hosted sign-in page. Unlike an organization's SSO connection it vouches for nobody's
 * membership: it proves an email address, as a code sent to it would.
 */
@Entity({ tableName: 'social_connection' })
@Index({ properties: ['environmentId', 'createdAt'] })
export class SocialConnection extends BaseEntity<'enabled' | 'scopes' | 'issuer' | 'authorizationUrl' | 'tokenUrl' | 'userinfoUrl'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @Enum({ items: () => SocialProvider, nativeEnumName: 'social_provider' })
  provider!: SocialProvider;

  /** What the button says after "Continue with". */
  @Property({ type: 'text' })
  name!: string;

  /** Shown on the sign-in page and accepted at its callback; a disabled one signs nobody in. */
  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  /** The OAuth client the builder registered with the provider. */
  @Property({ type: 'text' })
  clientId!: string;

  /** Sealed at rest (SecretBox, bound to the connection id); never read back through the API. */
  @Property({ type: 'text' })
  clientSecretSealed!: string;

  /** Scopes asked for; empty: the provider preset's. */
  @Property({ type: 'text[]', default: '{}' })
  scopes: string[] = [];

  /** OpenID Connect providers: the issuer (discovery), when not the preset's (a Microsoft tenant, a self-managed GitLab). */
  @Property({ type: 'text', nullable: true })
  issuer: string | null = null;

  /** OAuth 2.0 providers (GitHub, generic): where the browser goes, when not the preset's (GitHub Enterprise Server). */
  @Property({ type: 'text', nullable: true })
  authorizationUrl: string | null = null;

  @Property({ type: 'text', nullable: true })
  tokenUrl: string | null = null;

  /** Where the profile is read with the access token (GitHub: its `/user`, and `/user/emails` beside it). */
  @Property({ type: 'text', nullable: true })
  userinfoUrl: string | null = null;
}

/**
 * Who a social provider says a user is (its stable subject: `sub`, or GitHub's numeric id),
 * linked to the user it signed in: the next sign-in finds them by it, whatever email the
 * account has by then.
 */
@Entity({ tableName: 'social_identity' })
@Unique({ properties: ['connectionId', 'subject'] })
export class SocialIdentityLink extends BaseEntity<'profile' | 'lastSignedInAt'> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => SocialConnection, mapToPk: true, fieldName: 'connection_id', deleteRule: 'cascade' })
  connectionId!: string;

  @Property({ type: 'text' })
  subject!: string;

  @ManyToOne({ entity: () => User, mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade', index: true })
  userId!: string;

  /** The profile of the latest sign-in as the provider gave it (claims or API fields), tokens never. */
  @Property({ type: 'jsonb', default: '{}' })
  profile: Record<string, unknown> = {};

  @Property({ type: 'datetime', nullable: true })
  lastSignedInAt: Date | null = null;
}
