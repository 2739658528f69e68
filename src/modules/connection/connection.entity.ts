import { Entity, Enum, Index, ManyToOne, Property } from '@mikro-orm/core';
import { BaseEntity } from '../../db/base.entity.js';
import { Environment } from '../environment/environment.entity.js';
import { Organization } from '../organization/organization.entity.js';
import type { AttributeMappingOverrides, GroupRoleMapping } from './attribute-mapping.js';

export enum SsoConnectionType {
  SAML = 'SAML',
  OIDC = 'OIDC',
  /**
   * A SAML connection to Gatehouse's own IdP simulator (DEVELOPMENT environments): real signed
   * responses, and chosen faults, through the real ACS.
   */
  SIMULATOR = 'SIMULATOR',
}

/** Who runs the IdP: sets the attribute mapping and what the setup instructions say. */
export enum SsoProvider {
  OKTA = 'OKTA',
  ENTRA_ID = 'ENTRA_ID',
  GOOGLE_WORKSPACE = 'GOOGLE_WORKSPACE',
  JUMPCLOUD = 'JUMPCLOUD',
  ONELOGIN = 'ONELOGIN',
  PING = 'PING',
  ADFS = 'ADFS',
  GENERIC = 'GENERIC',
}

export enum SsoConnectionStatus {
  /** Being set up: never used to sign in. */
  DRAFT = 'DRAFT',
  ACTIVE = 'ACTIVE',
  /** Switched off: sign-ins through it are refused. */
  INACTIVE = 'INACTIVE',
}

/** An IdP signing certificate (PEM as given), with what was read from it. */
export interface IdpCertificate {
  pem: string;
  /** SHA-256 of the DER, colon-separated hex (as `X509Certificate.fingerprint256`). */
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** Warning thresholds (days before expiry) already announced (`connection.certificate_expiring`). */
  warnedDays?: number[];
}

/**
 * An organization's link to its own identity provider (SAML 2.0 or OpenID Connect): one more
 * way for its people to authenticate in the sign-in flow. The SP side (entity id, ACS URL,
 * OIDC redirect URI) derives from the environment's issuer and the connection's id.
 */
@Entity({ tableName: 'sso_connection' })
@Index({ properties: ['environmentId', 'createdAt'] })
@Index({ properties: ['organizationId', 'createdAt'] })
export class SsoConnection extends BaseEntity<
  | 'status'
  | 'allowGuestDomains'
  | 'idpEntityId'
  | 'idpSsoUrl'
  | 'idpCertificates'
  | 'allowIdpInitiated'
  | 'requireSignedAssertion'
  | 'allowSha1'
  | 'oidcIssuer'
  | 'oidcClientId'
  | 'oidcClientSecretSealed'
  | 'oidcScopes'
  | 'attributeMapping'
  | 'groupRoleMappings'
  | 'idpInitiatedApplicationId'
  | 'simulatorKeySealed'
  | 'idpMetadataUrl'
  | 'idpMetadataFetchedAt'
  | 'idpMetadataError'
> {
  @ManyToOne({ entity: () => Environment, mapToPk: true, fieldName: 'environment_id', deleteRule: 'cascade' })
  environmentId!: string;

  @ManyToOne({ entity: () => Organization, mapToPk: true, fieldName: 'organization_id', deleteRule: 'cascade' })
  organizationId!: string;

  @Property({ type: 'text' })
  name!: string;

  @Enum({ items: () => SsoConnectionType, nativeEnumName: 'sso_connection_type' })
  type!: SsoConnectionType;

  @Enum({ items: () => SsoProvider, nativeEnumName: 'sso_provider' })
  provider!: SsoProvider;

  @Enum({ items: () => SsoConnectionStatus, nativeEnumName: 'sso_connection_status', default: SsoConnectionStatus.DRAFT })
  status: SsoConnectionStatus = SsoConnectionStatus.DRAFT;

  /** Sign in people whose email is outside the organization's verified domains (guests). */
  @Property({ type: 'boolean', default: false })
  allowGuestDomains: boolean = false;

  /** Attribute (claim) names that override the provider preset's; see `attribute-mapping.ts`. */
  @Property({ type: 'jsonb', default: '{}' })
  attributeMapping: AttributeMappingOverrides = {};

  /** Group → roles, in priority order: the first row whose group a person is in sets their roles at each sign-in. Empty: roles are managed in Gatehouse. */
  @Property({ type: 'jsonb', default: '[]' })
  groupRoleMappings: GroupRoleMapping[] = [];

  // ── SAML ──

  @Property({ type: 'text', nullable: true })
  idpEntityId: string | null = null;

  /** Where AuthnRequests go (HTTP-Redirect binding). */
  @Property({ type: 'text', nullable: true })
  idpSsoUrl: string | null = null;

  /** Where the IdP publishes its metadata (https): read when set, and again every day; each change audited. */
  @Property({ type: 'text', nullable: true })
  idpMetadataUrl: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  idpMetadataFetchedAt: Date | null = null;

  /** Why the latest refresh failed (the connection keeps what it had); null after a good one. */
  @Property({ type: 'text', nullable: true })
  idpMetadataError: string | null = null;

  /** Every certificate listed verifies signatures: list the next one beside the current to rotate. */
  @Property({ type: 'jsonb', default: '[]' })
  idpCertificates: IdpCertificate[] = [];

  @Property({ type: 'boolean', default: false })
  allowIdpInitiated: boolean = false;

  /**
   * The application an IdP-initiated sign-in goes to: the person is signed in, then sent to its
   * `initiateLoginUri` to start a normal authorization request (no code to an app that did not ask).
   */
  @Property({ type: 'text', nullable: true })
  idpInitiatedApplicationId: string | null = null;

  /** SIMULATOR: the simulated IdP's private signing key (PKCS#8 PEM), sealed at rest, bound to the connection id. */
  @Property({ type: 'text', nullable: true })
  simulatorKeySealed: string | null = null;

  /** Else a signed response or a signed assertion is enough. */
  @Property({ type: 'boolean', default: true })
  requireSignedAssertion: boolean = true;

  /** SHA-1 signatures and digests, refused unless an old IdP leaves no choice. */
  @Property({ type: 'boolean', default: false })
  allowSha1: boolean = false;

  // ── OIDC ──

  @Property({ type: 'text', nullable: true })
  oidcIssuer: string | null = null;

  @Property({ type: 'text', nullable: true })
  oidcClientId: string | null = null;

  /** Sealed at rest (SecretBox, bound to the connection id); never read back through the API. */
  @Property({ type: 'text', nullable: true })
  oidcClientSecretSealed: string | null = null;

  @Property({ type: 'text[]', default: '{}' })
  oidcScopes: string[] = [];
}
