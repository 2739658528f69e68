import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Cost } from '../../graphql/cost.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { SsoConnectionStatus, SsoConnectionType, SsoProvider } from './connection.entity.js';
import { MAX_GROUP_ROLE_MAPPINGS, MAX_IDP_CERTIFICATES, MAX_MAPPED_CUSTOM_ATTRIBUTES } from './connection.validation.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { OrganizationType } from '../organization/organization.types.js';

registerEnumType(SsoConnectionType, {
  name: 'SsoConnectionType',
  description: 'The protocol an SSO connection speaks with the organization\'s identity provider.',
  valuesConfig: {
    SAML: { description: 'SAML 2.0: Gatehouse is the service provider.' },
    OIDC: { description: 'OpenID Connect: Gatehouse is the relying party.' },
    SIMULATOR: {
      description: 'SAML 2.0 with Gatehouse\'s built-in IdP simulator (DEVELOPMENT environments): real signed responses, or chosen faults, through the real ACS. See `createSimulatorConnection`.',
    },
  },
});
registerEnumType(SsoProvider, { name: 'SsoProvider', description: 'Who runs the identity provider: sets attribute mappings and the setup instructions.' });
registerEnumType(SsoConnectionStatus, {
  name: 'SsoConnectionStatus',
  description: 'Whether a connection signs people in.',
  valuesConfig: {
    DRAFT: { description: 'Being set up; never used to sign in.' },
    ACTIVE: { description: 'Signs people in (needs a complete configuration).' },
    INACTIVE: { description: 'Switched off: sign-ins through it are refused.' },
  },
});

@ObjectType('IdpCertificate', { simpleResolvers: true, description: 'A signing certificate of the identity provider: signatures verify only with these.' })
export class IdpCertificateType {
  @Field({ description: 'SHA-256 fingerprint of the certificate (colon-separated hex).' })
  fingerprint!: string;

  @Field({ description: 'Its subject.' })
  subject!: string;

  @Field({ description: 'Valid from.' })
  notBefore!: Date;

  @Field({ description: 'Valid until: list the next certificate beside this one before then.' })
  notAfter!: Date;

  @Field({ description: 'The certificate, PEM.' })
  pem!: string;
}

@ObjectType('SamlSettings', { description: 'Both sides of a SAML connection: what to paste into the IdP, and what was taken from it.' })
export class SamlSettingsType {
  @Field({ description: 'Gatehouse\'s entity id for this connection (the IdP\'s "Audience URI" / "Identifier").' })
  spEntityId!: string;

  @Field({ description: 'Assertion Consumer Service URL (HTTP-POST): the IdP\'s "Single sign-on URL" / "Reply URL".' })
  acsUrl!: string;

  @Field({ description: 'Gatehouse\'s SP metadata for this connection, for IdPs that import it.' })
  spMetadataUrl!: string;

  @Field(() => String, { nullable: true, description: 'Where the IdP publishes its metadata: read again every day, each change audited (`connection.metadata_refreshed`).' })
  idpMetadataUrl!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the metadata URL was last read.' })
  idpMetadataFetchedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the latest read of the metadata URL failed (the connection keeps what it had).' })
  idpMetadataError!: string | null;

  @Field(() => String, { nullable: true, description: 'The IdP\'s entity id (the Issuer of its responses).' })
  idpEntityId!: string | null;

  @Field(() => String, { nullable: true, description: 'Where sign-in requests are sent (HTTP-Redirect binding).' })
  idpSsoUrl!: string | null;

  @Cost({ maxItems: MAX_IDP_CERTIFICATES })
  @Field(() => [IdpCertificateType], { description: 'The IdP\'s signing certificates.' })
  idpCertificates!: IdpCertificateType[];

  @Field({ description: 'Whether sign-ins the IdP starts (IdP-initiated) are accepted.' })
  allowIdpInitiated!: boolean;

  @Field(() => ID, { nullable: true, description: 'The application IdP-initiated sign-ins go to (through its `initiateLoginUri`).' })
  idpInitiatedApplicationId!: string | null;

  @Field({ description: 'Whether the assertion itself must be signed (else a signed response is enough).' })
  requireSignedAssertion!: boolean;

  @Field({ description: 'Whether SHA-1 signatures are accepted (only for IdPs that cannot do better).' })
  allowSha1!: boolean;
}

@ObjectType('OidcSettings', { description: 'Both sides of an OpenID Connect connection.' })
export class OidcSettingsType {
  @Field({ description: 'The redirect URI to register with the IdP.' })
  redirectUri!: string;

  @Field(() => String, { nullable: true, description: 'The IdP\'s issuer (its discovery document is read from there).' })
  issuer!: string | null;

  @Field(() => String, { nullable: true, description: 'The client id the IdP issued.' })
  clientId!: string | null;

  @Field({ description: 'Whether a client secret is set (it is never shown).' })
  hasClientSecret!: boolean;

  @Field(() => [String], { description: 'Scopes asked for.' })
  scopes!: string[];
}

@InputType({ description: 'Where a connection reads each part of a person: attribute names (SAML, matched by Name or FriendlyName) or claim names (OIDC), case-insensitively. Parts not given follow the provider preset, then the usual names.' })
export class SsoAttributeMappingInput {
  @Field(() => String, { nullable: true, description: 'The email address.' })
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'The given name.' })
  givenName?: string | null;

  @Field(() => String, { nullable: true, description: 'The family name.' })
  familyName?: string | null;

  @Field(() => String, { nullable: true, description: 'The full name (the given name when no parts are sent).' })
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'The groups (several values, or a JSON array claim).' })
  groups?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: `Custom attribute key of the environment → the IdP's attribute name (at most ${MAX_MAPPED_CUSTOM_ATTRIBUTES}).` })
  custom?: Record<string, unknown> | null;
}

@InputType({ description: 'One row of a group → role mapping.' })
export class SsoGroupRoleMappingInput {
  @Field({ description: 'The group as the IdP names it (compared case-insensitively).' })
  group!: string;

  @Field(() => [String], { description: 'Keys of the roles its members get.' })
  roleKeys!: string[];
}

@ObjectType('SsoAttributeMapping', { simpleResolvers: true, description: 'The attribute (claim) names a connection reads first: its own, else its provider preset\'s.' })
export class SsoAttributeMappingType {
  @Field(() => String, { nullable: true, description: 'The email address.' })
  email!: string | null;

  @Field(() => String, { nullable: true, description: 'The given name.' })
  givenName!: string | null;

  @Field(() => String, { nullable: true, description: 'The family name.' })
  familyName!: string | null;

  @Field(() => String, { nullable: true, description: 'The full name.' })
  name!: string | null;

  @Field(() => String, { nullable: true, description: 'The groups.' })
  groups!: string | null;

  @Field(() => JSONObjectScalar, { description: 'Custom attribute key → attribute name.' })
  custom!: Record<string, string>;
}

@ObjectType('SsoGroupRoleMapping', { simpleResolvers: true, description: 'One row of a group → role mapping.' })
export class SsoGroupRoleMappingType {
  @Field({ description: 'The group as the IdP names it.' })
  group!: string;

  @Field(() => [String], { description: 'Keys of the roles its members get.' })
  roleKeys!: string[];
}

@ObjectType('SsoConnection', { implements: Node, description: 'An organization\'s link to its own identity provider (SAML 2.0 or OpenID Connect).' })
export class SsoConnectionNode extends Node {
  @Field(() => ID, { description: 'Environment.' })
  environmentId!: string;

  @Field(() => ID, { description: 'The organization whose people sign in through it.' })
  organizationId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => SsoConnectionType, { description: 'Protocol.' })
  type!: SsoConnectionType;

  @Field(() => SsoProvider, { description: 'Who runs the IdP.' })
  provider!: SsoProvider;

  @Field(() => SsoConnectionStatus, { description: 'Whether it signs people in.' })
  status!: SsoConnectionStatus;

  @Field({ description: 'Whether people whose email is outside the organization\'s verified domains may sign in through it.' })
  allowGuestDomains!: boolean;

  @Cost({ maxItems: MAX_GROUP_ROLE_MAPPINGS })
  @Field(() => [SsoGroupRoleMappingType], { description: 'Group → roles, in priority order; empty: roles are managed in Gatehouse.' })
  groupRoleMappings!: SsoGroupRoleMappingType[];

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of SSO connections.' })
export class SsoConnectionConnection extends Connection(SsoConnectionNode, 'SsoConnection') {}

@InputType({ description: 'SAML settings; omitted fields stay as they are (on creation: unset, or the defaults).' })
class SamlSettingsInput {
  @Field(() => SsoProvider, { nullable: true, description: 'Who runs the IdP; GENERIC by default.' })
  provider?: SsoProvider;

  @Field(() => SsoConnectionStatus, { nullable: true, description: 'DRAFT by default; ACTIVE needs the entity id, SSO URL and a certificate.' })
  status?: SsoConnectionStatus;

  @Field({ nullable: true, description: 'Accept people outside the organization\'s verified domains; false by default.' })
  allowGuestDomains?: boolean;

  @Field(() => SsoAttributeMappingInput, { nullable: true, description: 'Attribute (claim) names to read, replacing the connection\'s own; `null` keeps only the provider preset\'s.' })
  attributeMapping?: SsoAttributeMappingInput | null;

  @Field(() => [SsoGroupRoleMappingInput], {
    nullable: true,
    description: `Group → roles, in priority order (at most ${MAX_GROUP_ROLE_MAPPINGS}): at each sign-in the first row whose group the person is in sets their roles in the organization (no match: the default role). Replaces the rows; \`[]\` leaves roles to Gatehouse.`,
  })
  groupRoleMappings?: SsoGroupRoleMappingInput[] | null;

  @Field(() => String, {
    nullable: true,
    description: 'The IdP\'s SAML metadata XML (what Okta, Entra ID or ADFS offer to download): sets the entity id, SSO URL and signing certificates; fields given beside it win.',
  })
  idpMetadataXml?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Where the IdP publishes its metadata (https; Entra ID\'s "App Federation Metadata Url", Okta\'s "Metadata URL"): read now, through the outbound guard, and every day after. `null` stops reading it.',
  })
  idpMetadataUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'The IdP\'s entity id; `null` clears it.' })
  idpEntityId?: string | null;

  @Field(() => String, { nullable: true, description: 'The IdP\'s SSO URL (https); `null` clears it.' })
  idpSsoUrl?: string | null;

  @Field(() => [String], { nullable: true, description: `Replaces the IdP signing certificates (PEM or base64 DER, at most ${MAX_IDP_CERTIFICATES}).` })
  idpCertificates?: string[];

  @Field({ nullable: true, description: 'Accept IdP-initiated sign-ins (needs `idpInitiatedApplicationId`); false by default.' })
  allowIdpInitiated?: boolean;

  @Field(() => ID, {
    nullable: true,
    description: 'The application IdP-initiated sign-ins go to: the person is signed in, then sent to its `initiateLoginUri` to start a normal authorization request. `null` clears it.',
  })
  idpInitiatedApplicationId?: string | null;

  @Field({ nullable: true, description: 'Require the assertion itself to be signed; true by default.' })
  requireSignedAssertion?: boolean;

  @Field({ nullable: true, description: 'Accept SHA-1 signatures; false by default.' })
  allowSha1?: boolean;
}

@InputType({ description: 'A new SAML connection of an organization.' })
export class CreateSamlConnectionInput extends SamlSettingsInput {
  @Field(() => ID, { description: 'The organization.' })
  organizationId!: string;

  @Field({ description: 'Display name.' })
  name!: string;
}

@InputType({ description: 'Changes to a SAML connection.' })
export class UpdateSamlConnectionInput extends SamlSettingsInput {
  @Field(() => ID, { description: 'The connection.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;
}

@InputType({ description: 'OpenID Connect settings; omitted fields stay as they are.' })
class OidcSettingsInput {
  @Field(() => SsoProvider, { nullable: true, description: 'Who runs the IdP; GENERIC by default.' })
  provider?: SsoProvider;

  @Field(() => SsoConnectionStatus, { nullable: true, description: 'DRAFT by default; ACTIVE needs the issuer, client id and secret.' })
  status?: SsoConnectionStatus;

  @Field({ nullable: true, description: 'Accept people outside the organization\'s verified domains; false by default.' })
  allowGuestDomains?: boolean;

  @Field(() => SsoAttributeMappingInput, { nullable: true, description: 'Attribute (claim) names to read, replacing the connection\'s own; `null` keeps only the provider preset\'s.' })
  attributeMapping?: SsoAttributeMappingInput | null;

  @Field(() => [SsoGroupRoleMappingInput], {
    nullable: true,
    description: `Group → roles, in priority order (at most ${MAX_GROUP_ROLE_MAPPINGS}): at each sign-in the first row whose group the person is in sets their roles in the organization (no match: the default role). Replaces the rows; \`[]\` leaves roles to Gatehouse.`,
  })
  groupRoleMappings?: SsoGroupRoleMappingInput[] | null;

  @Field(() => String, { nullable: true, description: 'The IdP\'s issuer URL (https); `null` clears it.' })
  issuer?: string | null;

  @Field(() => String, { nullable: true, description: 'The client id the IdP issued; `null` clears it.' })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'The client secret (sealed at rest, never shown again); `null` clears it.' })
  clientSecret?: string | null;

  @Field(() => [String], { nullable: true, description: 'Scopes to ask for (`openid` is always added); `email openid profile` by default.' })
  scopes?: string[];
}

@InputType({ description: 'A new OpenID Connect connection of an organization.' })
export class CreateOidcConnectionInput extends OidcSettingsInput {
  @Field(() => ID, { description: 'The organization.' })
  organizationId!: string;

  @Field({ description: 'Display name.' })
  name!: string;
}

@InputType({ description: 'Changes to an OpenID Connect connection.' })
export class UpdateOidcConnectionInput extends OidcSettingsInput {
  @Field(() => ID, { description: 'The connection.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to an SSO connection.' })
export class SsoConnectionPayload {
  @Field(() => SsoConnectionNode, { nullable: true, description: 'The connection after the change.' })
  ssoConnection?: SsoConnectionNode;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@InputType({ description: 'The IdP simulator of a DEVELOPMENT environment.' })
export class CreateSimulatorConnectionInput {
  @Field(() => ID, { nullable: true, description: 'The environment (DEVELOPMENT only); defaults to the key\'s.' })
  environmentId?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of `createSimulatorConnection`.' })
export class SimulatorConnectionPayload {
  @Field(() => SsoConnectionNode, { nullable: true, description: 'The SIMULATOR connection: its `saml.idpSsoUrl` is the simulator page.' })
  ssoConnection?: SsoConnectionNode;

  @Field(() => OrganizationType, { nullable: true, description: 'The built-in organization "Simulated Customer", with the verified domains example.com and example.org.' })
  organization?: OrganizationType;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
