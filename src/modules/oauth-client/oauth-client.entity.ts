import { Entity, Enum, Index, ManyToOne, PrimaryKeyProp, Property, Unique } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { Role } from '../role/role.entity.js';

/** Service accounts and applications are both OAuth clients; one table keeps one token path. */
export enum ClientKind {
  SERVICE_ACCOUNT = 'SERVICE_ACCOUNT',
  APPLICATION = 'APPLICATION',
}

export enum ApplicationType {
  /** The builder's own backend, created through the management API. */
  M2M = 'M2M',
  /** Registered by the client itself (RFC 7591). */
  DYNAMIC = 'DYNAMIC',
  /** A server-side web app people sign in to: a confidential client (secret or private_key_jwt). */
  WEB = 'WEB',
  /** A single-page app in the browser: a public client, PKCE only. */
  SPA = 'SPA',
  /** A mobile or desktop app (RFC 8252): a public client, PKCE only. */
  NATIVE = 'NATIVE',
}

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/**
 * An OAuth client of an environment. Its id is also its `client_id` (`sva_…` or `app_…`).
 * Keys are public JWKs given inline or fetched from `jwks_uri`; secrets live in ClientSecret.
 */
@Entity({ tableName: 'oauth_client' })
@Index({ properties: ['environmentId', 'kind', 'createdAt'] })
@Unique({ properties: ['environmentId', 'metadataDocumentUrl'] })
export class OAuthClient extends BaseEntity<
  | 'organizationId'
  | 'applicationType'
  | 'description'
  | 'enabled'
  | 'accessTokenTtl'
  | 'customClaims'
  | 'jwks'
  | 'jwksUri'
  | 'redirectUris'
  | 'tokenEndpointAuthMethod'
  | 'registrationTokenHash'
  | 'registrationMetadata'
  | 'postLogoutRedirectUris'
  | 'allowedWebOrigins'
  | 'firstParty'
  | 'idTokenTtl'
  | 'refreshTokenIdleTtl'
  | 'refreshTokenAbsoluteTtl'
  | 'backchannelLogoutUri'
  | 'initiateLoginUri'
  | 'metadataDocumentUrl'
> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  /** Service accounts of an organization carry its id as `org_id` in their tokens. */
  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', nullable: true, deleteRule: 'cascade', index: true })
  organizationId: string | null = null;

  @Enum({ items: () => ClientKind, nativeEnumName: 'oauth_client_kind' })
  kind!: ClientKind;

  /** Null for service accounts. */
  @Enum({ items: () => ApplicationType, nativeEnumName: 'application_type', nullable: true })
  applicationType: ApplicationType | null = null;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  /** A disabled client cannot authenticate; its tokens stop introspecting as active. */
  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  /** Scopes it may request, besides the permissions of its roles. */
  @Property({ type: 'text[]' })
  allowedScopes!: string[];

  /** Resource server identifiers its tokens may be issued for. */
  @Property({ type: 'text[]' })
  allowedAudiences!: string[];

  @Property({ type: 'text[]' })
  grantTypes!: string[];

  /** Access token lifetime in seconds. */
  @Property({ type: 'integer', default: 3600 })
  accessTokenTtl: number = 3600;

  /** Extra claims put in every access token (never registered claim names). */
  @Property({ type: 'jsonb', default: '{}' })
  customClaims: Record<string, unknown> = {};

  /** Public keys for `private_key_jwt`, as a JWK Set. */
  @Property({ type: 'jsonb', nullable: true })
  jwks: { keys: Record<string, unknown>[] } | null = null;

  @Property({ type: 'text', nullable: true })
  jwksUri: string | null = null;

  @Property({ type: 'text[]', default: '{}' })
  redirectUris: string[] = [];

  /** The one method a dynamically registered client declared; null accepts any configured credential. */
  @Property({ type: 'text', nullable: true })
  tokenEndpointAuthMethod: TokenEndpointAuthMethod | null = null;

  /** SHA-256 of the RFC 7592 registration access token (dynamic clients). */
  @Property({ type: 'text', nullable: true })
  @Unique()
  registrationTokenHash: string | null = null;

  /** Client metadata as registered (RFC 7591), for RFC 7592 reads. */
  @Property({ type: 'jsonb', nullable: true })
  registrationMetadata: Record<string, unknown> | null = null;

  /** Where RP-initiated logout may send the browser back to (matched exactly). */
  @Property({ type: 'text[]', default: '{}' })
  postLogoutRedirectUris: string[] = [];

  /** Origins whose JavaScript may call the token, userinfo and revocation endpoints (CORS). */
  @Property({ type: 'text[]', default: '{}' })
  allowedWebOrigins: string[] = [];

  /** The builder's own app; a third-party app needs each user's consent. */
  @Property({ type: 'boolean', default: true })
  firstParty: boolean = true;

  /** ID token lifetime in seconds. */
  @Property({ type: 'integer', default: 3600 })
  idTokenTtl: number = 3600;

  /** A refresh token unused this long (seconds) expires. */
  @Property({ type: 'integer', default: 1209600 })
  refreshTokenIdleTtl: number = 1_209_600;

  /** A sign-in's refresh tokens expire this long (seconds) after it, however they are used. */
  @Property({ type: 'integer', default: 7776000 })
  refreshTokenAbsoluteTtl: number = 7_776_000;

  /** OpenID Back-Channel Logout 1.0: where a logout token is posted when a session ends. */
  @Property({ type: 'text', nullable: true })
  backchannelLogoutUri: string | null = null;

  /**
   * OpenID Connect Core §4 (third-party initiated login): where Gatehouse sends a browser for
   * the application to start a sign-in itself, e.g. after an IdP-initiated SAML sign-in.
   */
  @Property({ type: 'text', nullable: true })
  initiateLoginUri: string | null = null;

  /**
   * For a client known by a Client ID Metadata Document: the https URL that is its `client_id`
   * (and where its metadata is fetched). Its row id stays an `app_` id for the API.
   */
  @Property({ type: 'text', nullable: true })
  metadataDocumentUrl: string | null = null;
}

/** Roles of a client: their permissions become scopes it may request. */
@Entity({ tableName: 'oauth_client_role' })
export class OAuthClientRole {
  [PrimaryKeyProp]?: ['clientId', 'roleId'];

  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', primary: true, deleteRule: 'cascade' })
  clientId!: string;

  @ManyToOne({ entity: () => Role, mapToPk: true, fieldName: 'role_id', primary: true, deleteRule: 'cascade', index: true })
  roleId!: string;
}

/** A client secret: only its SHA-256 is kept; shown once at creation. */
@Entity({ tableName: 'client_secret' })
@Index({ properties: ['clientId', 'createdAt'] })
export class ClientSecret extends BaseEntity<'description' | 'expiresAt' | 'revokedAt' | 'lastUsedAt'> {
  @ManyToOne({ entity: () => OAuthClient, mapToPk: true, fieldName: 'client_id', deleteRule: 'cascade' })
  clientId!: string;

  @Property({ type: 'text' })
  environmentId!: string;

  @Property({ type: 'text' })
  @Unique()
  secretHash!: string;

  @Property({ type: 'text' })
  prefix!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;
}
