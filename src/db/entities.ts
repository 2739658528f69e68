import { AuditCheckpoint } from '../audit/audit-checkpoint.entity.js';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { ApiKey } from '../modules/api-key/api-key.entity.js';
import { OutboxMessage } from '../modules/email/email.entity.js';
import { Environment } from '../modules/environment/environment.entity.js';
import { SignInChallenge } from '../modules/sign-in/challenge.entity.js';
import { PushedAuthorizationRequest, SignInFlow } from '../modules/sign-in/flow.entity.js';
import { SsoConnection } from '../modules/connection/connection.entity.js';
import { SamlRequest } from '../modules/connection/saml-request.entity.js';
import { OidcRequest } from '../modules/connection/oidc-request.entity.js';
import { SsoTrace } from '../modules/connection/sso-trace.entity.js';
import { SpKey } from '../modules/connection/sp-key.entity.js';
import { SsoIdentityLink } from '../modules/connection/sso-identity.entity.js';
import { LogoutNotice } from '../modules/session/logout-notice.entity.js';
import { UserSession } from '../modules/session/session.entity.js';
import { AuthorizationCode, RefreshToken } from '../modules/user-token/user-token.entity.js';
import { Consent } from '../modules/consent/consent.entity.js';
import { Membership, MembershipRole } from '../modules/membership/membership.entity.js';
import { Organization, OrganizationDomain } from '../modules/organization/organization.entity.js';
import { Permission, Role, RolePermission } from '../modules/role/role.entity.js';
import { CustomAttributeDefinition, User } from '../modules/user/user.entity.js';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../modules/webhook/webhook.entity.js';
import { RevokedToken, UsedAssertion } from '../modules/token-state/token-state.entity.js';
import { ClientSecret, OAuthClient, OAuthClientRole } from '../modules/oauth-client/oauth-client.entity.js';
import { ResourceServer } from '../modules/resource-server/resource-server.entity.js';
import { SigningKey } from '../modules/signing-key/signing-key.entity.js';
import { TrustedIssuer } from '../modules/trusted-issuer/trusted-issuer.entity.js';
import { Workspace } from '../modules/workspace/workspace.entity.js';
import { SocialConnection, SocialIdentityLink } from '../modules/social/social-connection.entity.js';
import { Directory } from '../modules/directory/directory.entity.js';
import { DirectoryUser } from '../modules/directory/directory-user.entity.js';
import { DirectoryGroup, DirectoryGroupMember } from '../modules/directory/directory-group.entity.js';
import { DirectoryRequestError } from '../modules/directory/directory-request-error.entity.js';

export const entities = [
  Workspace,
  Environment,
  ApiKey,
  Organization,
  OrganizationDomain,
  User,
  CustomAttributeDefinition,
  Role,
  Permission,
  RolePermission,
  Membership,
  MembershipRole,
  AuditEvent,
  AuditCheckpoint,
  WebhookEndpoint,
  WebhookDelivery,
  WebhookAttempt,
  OAuthClient,
  OAuthClientRole,
  ClientSecret,
  SigningKey,
  ResourceServer,
  TrustedIssuer,
  RevokedToken,
  UsedAssertion,
  OutboxMessage,
  SignInChallenge,
  SignInFlow,
  PushedAuthorizationRequest,
  UserSession,
  AuthorizationCode,
  RefreshToken,
  Consent,
  LogoutNotice,
  SsoConnection,
  SamlRequest,
  OidcRequest,
  SsoIdentityLink,
  SocialConnection,
  Directory,
  DirectoryUser,
  DirectoryGroup,
  DirectoryGroupMember,
  DirectoryRequestError,
  SocialIdentityLink,
  SsoTrace,
  SpKey,
];
