import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { UserError } from '../../graphql/user-error.js';
import { ApplicationType } from './oauth-client.entity.js';

registerEnumType(ApplicationType, {
  name: 'ApplicationType',
  description: 'What kind of client an application is, and how it came to be.',
  valuesConfig: {
    M2M: { description: 'Created through this API: the builder\'s own backend, getting tokens for itself.' },
    DYNAMIC: { description: 'Registered by the client itself (RFC 7591 dynamic client registration).' },
    WEB: { description: 'A server-side web app people sign in to: a confidential client (secret or `private_key_jwt`).' },
    SPA: { description: 'A single-page app people sign in to: a public client (no secret, PKCE).' },
    NATIVE: { description: 'A mobile or desktop app people sign in to (RFC 8252): a public client (no secret, PKCE).' },
  },
});

@ObjectType('ClientSecret', { implements: Node, simpleResolvers: true, description: 'A secret of an OAuth client. Only its prefix is ever shown again after creation.' })
export class ClientSecretType extends Node {
  @Field(() => ID, { description: 'The client (service account or application) it authenticates.' })
  clientId!: string;

  @Field({ description: 'First characters of the secret, to recognise it.' })
  prefix!: string;

  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description!: string | null;

  @Field(() => Date, { nullable: true, description: 'When it stops working; null never.' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was revoked.' })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it last authenticated a token request.' })
  lastUsedAt!: Date | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;
}

/** Fields service accounts and applications share. */
@ObjectType({ simpleResolvers: true })
abstract class OAuthClientFields extends Node {
  @Field(() => ID, { description: 'Environment whose authorization server it is a client of.' })
  environmentId!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description!: string | null;

  @Field({ description: 'Whether it may get tokens; disabling also stops its tokens from introspecting as active.' })
  enabled!: boolean;

  @Field(() => [String], { description: 'Scopes it may request, besides the permissions of its roles.' })
  allowedScopes!: string[];

  @Field(() => [String], { description: 'Resource server identifiers its tokens may be issued for (`aud`).' })
  allowedAudiences!: string[];

  @Field(() => [String], { description: 'Grants it may use: `client_credentials`, `urn:ietf:params:oauth:grant-type:token-exchange`.' })
  grantTypes!: string[];

  @Field(() => Int, { description: 'Lifetime of its access tokens, in seconds.' })
  accessTokenTtl!: number;

  @Field(() => JSONObjectScalar, { description: 'Extra claims put in its access tokens.' })
  customClaims!: Record<string, unknown>;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Its public keys for `private_key_jwt`, as a JWK Set.' })
  jwks!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'Where its public keys for `private_key_jwt` are fetched from.' })
  jwksUri!: string | null;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType('ServiceAccount', {
  implements: Node,
  simpleResolvers: true,
  description: 'A non-human identity of an environment (or of one organization) that gets tokens with the client credentials grant. Its id is its OAuth `client_id`.',
})
export class ServiceAccountType extends OAuthClientFields {
  @Field(() => ID, { nullable: true, description: 'Organization it acts for; its tokens then carry `org_id`.' })
  organizationId!: string | null;
}

@ObjectType('Application', {
  implements: Node,
  simpleResolvers: true,
  description: 'A machine-to-machine OAuth client of an environment, created here (M2M) or registered dynamically. Its id is its OAuth `client_id`.',
})
export class ApplicationNodeType extends OAuthClientFields {
  @Field(() => [String], { description: 'Where sign-in may return to, matched exactly (a NATIVE app\'s loopback URIs on any port).' })
  redirectUris!: string[];

  @Field(() => [String], { description: 'Where sign-out may return to, matched exactly.' })
  postLogoutRedirectUris!: string[];

  @Field(() => [String], { description: 'Origins whose JavaScript may call the token, userinfo and revocation endpoints (CORS).' })
  allowedWebOrigins!: string[];

  @Field({ description: 'The builder\'s own app; a third-party app asks each user\'s consent.' })
  firstParty!: boolean;

  @Field(() => Int, { description: 'Lifetime of its ID tokens, in seconds.' })
  idTokenTtl!: number;

  @Field(() => Int, { description: 'A refresh token unused this long (seconds) expires.' })
  refreshTokenIdleTtl!: number;

  @Field(() => Int, { description: 'A sign-in\'s refresh tokens expire this long (seconds) after it, however they are used.' })
  refreshTokenAbsoluteTtl!: number;

  @Field(() => String, { nullable: true, description: 'Where a logout token is posted when a session ends (OpenID Back-Channel Logout 1.0).' })
  backchannelLogoutUri!: string | null;

  @Field(() => String, { nullable: true, description: 'Where Gatehouse sends a browser for the application to start a sign-in itself (OpenID Connect `initiate_login_uri`), e.g. after an IdP-initiated SAML sign-in.' })
  initiateLoginUri!: string | null;

  @Field(() => String, { nullable: true, description: 'The token endpoint authentication method it registered; null accepts any credential it has.' })
  tokenEndpointAuthMethod!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A page of service accounts.' })
export class ServiceAccountConnection extends Connection(ServiceAccountType, 'ServiceAccount') {}

@ObjectType({ simpleResolvers: true, description: 'A page of applications.' })
export class ApplicationConnection extends Connection(ApplicationNodeType, 'Application') {}

/** Settings both kinds of client take on creation. */
@InputType({ description: 'Settings both kinds of client take on creation.' })
abstract class ClientSettingsInput {
  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Scopes it may request (RFC 6749 scope-tokens), besides its roles\' permissions.' })
  allowedScopes?: string[];

  @Field(() => [String], { nullable: true, description: 'Identifiers of resource servers of the environment its tokens may be for.' })
  allowedAudiences?: string[];

  @Field(() => [String], { nullable: true, description: 'Grants it may use; `client_credentials` when omitted.' })
  grantTypes?: string[];

  @Field(() => Int, { nullable: true, description: 'Access token lifetime in seconds, 60–86400; 3600 when omitted.' })
  accessTokenTtl?: number;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Extra claims for its access tokens (at most 4 KiB; no registered claim names).' })
  customClaims?: Record<string, unknown> | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Public keys for `private_key_jwt`, as a JWK Set (excludes jwksUri).' })
  jwks?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'An https URL serving its JWK Set (excludes jwks).' })
  jwksUri?: string | null;

  @Field(() => [String], { nullable: true, description: 'Keys of roles of the environment whose permissions it may request as scopes.' })
  roleKeys?: string[];
}

/** Changes both kinds of client take; omitted fields stay. */
@InputType({ description: 'Changes both kinds of client take.' })
abstract class ClientChangesInput {
  @Field(() => ID, { description: 'The client.' })
  id!: string;

  @Field({ nullable: true, description: 'New display name.' })
  name?: string;

  @Field(() => String, { nullable: true, description: 'New description; `null` clears it.' })
  description?: string | null;

  @Field({ nullable: true, description: 'Enable or disable it (a disabled client gets no tokens and its tokens stop introspecting as active).' })
  enabled?: boolean;

  @Field(() => [String], { nullable: true, description: 'Replaces the allowed scopes.' })
  allowedScopes?: string[];

  @Field(() => [String], { nullable: true, description: 'Replaces the allowed audiences (resource server identifiers).' })
  allowedAudiences?: string[];

  @Field(() => [String], { nullable: true, description: 'Replaces the grant types.' })
  grantTypes?: string[];

  @Field(() => Int, { nullable: true, description: 'New access token lifetime in seconds, 60–86400.' })
  accessTokenTtl?: number;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the custom claims; `null` clears them.' })
  customClaims?: Record<string, unknown> | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Replaces the JWK Set and clears jwksUri; `null` clears it.' })
  jwks?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'Replaces the JWKS URL and clears jwks; `null` clears it.' })
  jwksUri?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the roles, by key.' })
  roleKeys?: string[];
}

@InputType({ description: 'A new service account.' })
export class CreateServiceAccountInput extends ClientSettingsInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field(() => ID, { nullable: true, description: 'Organization of the environment it acts for, if any.' })
  organizationId?: string | null;

  @Field({ description: 'Display name.' })
  name!: string;
}

@InputType({ description: 'Changes to a service account; omitted fields stay as they are.' })
export class UpdateServiceAccountInput extends ClientChangesInput {
  @Field(() => ID, { nullable: true, description: 'Organization it acts for; `null` makes it environment-wide.' })
  organizationId?: string | null;
}

@InputType({ description: 'A new application.' })
export class CreateApplicationInput extends ClientSettingsInput {
  @Field(() => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' })
  environmentId?: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => ApplicationType, { nullable: true, description: 'M2M (the default), WEB, SPA or NATIVE; DYNAMIC ones come from registration. Fixed once created.' })
  type?: ApplicationType | null;

  @Field(() => [String], { nullable: true, description: 'WEB, SPA, NATIVE: where sign-in may return to (https; http on loopback; NATIVE also private-use schemes, RFC 8252).' })
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'WEB, SPA, NATIVE: where sign-out may return to, under the same rules.' })
  postLogoutRedirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'WEB, SPA: origins allowed to call the token, userinfo and revocation endpoints from JavaScript.' })
  allowedWebOrigins?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'WEB, SPA, NATIVE: the builder\'s own app (default) or a third party\'s, which asks each user\'s consent.' })
  firstParty?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'ID token lifetime in seconds, 60–86400; 3600 when omitted.' })
  idTokenTtl?: number | null;

  @Field(() => Int, { nullable: true, description: 'Refresh token idle lifetime in seconds, 300 to 365 days; 14 days when omitted.' })
  refreshTokenIdleTtl?: number | null;

  @Field(() => Int, { nullable: true, description: 'Refresh token absolute lifetime in seconds, at least the idle one, up to 365 days; 90 days when omitted.' })
  refreshTokenAbsoluteTtl?: number | null;

  @Field(() => String, { nullable: true, description: 'WEB: an https URL for OpenID Back-Channel Logout.' })
  backchannelLogoutUri?: string | null;

  @Field(() => String, { nullable: true, description: 'An https URL where the application starts a sign-in (OpenID Connect `initiate_login_uri`): IdP-initiated SSO lands there.' })
  initiateLoginUri?: string | null;
}

@InputType({ description: 'Changes to an application; omitted fields stay as they are. Its type cannot change.' })
export class UpdateApplicationInput extends ClientChangesInput {
  @Field(() => [String], { nullable: true, description: 'Replaces the redirect URIs (WEB, SPA, NATIVE).' })
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the post-logout redirect URIs (WEB, SPA, NATIVE).' })
  postLogoutRedirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the allowed web origins (WEB, SPA).' })
  allowedWebOrigins?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'First party (no consent asked) or third party (WEB, SPA, NATIVE).' })
  firstParty?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'New ID token lifetime in seconds.' })
  idTokenTtl?: number | null;

  @Field(() => Int, { nullable: true, description: 'New refresh token idle lifetime in seconds.' })
  refreshTokenIdleTtl?: number | null;

  @Field(() => Int, { nullable: true, description: 'New refresh token absolute lifetime in seconds.' })
  refreshTokenAbsoluteTtl?: number | null;

  @Field(() => String, { nullable: true, description: 'New back-channel logout URL (WEB); `null` clears it.' })
  backchannelLogoutUri?: string | null;

  @Field(() => String, { nullable: true, description: 'New sign-in start URL (`initiate_login_uri`); `null` clears it.' })
  initiateLoginUri?: string | null;
}

@InputType({ description: 'A new secret for a client.' })
export class CreateClientSecretInput {
  @Field(() => ID, { description: 'The service account or application.' })
  clientId!: string;

  @Field(() => String, { nullable: true, description: 'What it is for.' })
  description?: string | null;

  @Field(() => Date, { nullable: true, description: 'When it stops working (in the future); omitted never.' })
  expiresAt?: Date | null;
}

@InputType({ description: 'Identifies a client secret.' })
export class ClientSecretIdInput {
  @Field(() => ID, { description: 'The secret.' })
  id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a service account.' })
export class ServiceAccountPayload {
  @Field(() => ServiceAccountType, { nullable: true, description: 'The service account after the change.' })
  serviceAccount?: ServiceAccountType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to an application.' })
export class ApplicationPayload {
  @Field(() => ApplicationNodeType, { nullable: true, description: 'The application after the change.' })
  application?: ApplicationNodeType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of `createClientSecret`.' })
export class CreateClientSecretPayload {
  @Field(() => ClientSecretType, { nullable: true, description: 'The new secret\'s record.' })
  clientSecret?: ClientSecretType;

  @Field(() => String, { nullable: true, description: 'The secret (`ghcs_…`). Shown only this once.' })
  secret?: string;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a client secret.' })
export class ClientSecretPayload {
  @Field(() => ClientSecretType, { nullable: true, description: 'The secret after the change.' })
  clientSecret?: ClientSecretType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}
