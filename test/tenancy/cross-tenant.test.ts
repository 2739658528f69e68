import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_PREFIXES, newId, type IdKind } from '../../src/db/id.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { ConsentRepository } from '../../src/modules/consent/consent.repository.js';
import { SsoConnection } from '../../src/modules/connection/connection.entity.js';
import { openTrace, succeedTrace } from '../../src/modules/connection/sso-trace.service.js';
import { keepInOutbox } from '../../src/modules/email/email.service.js';
import { noteApplication, startSession } from '../../src/modules/session/session.service.js';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * Tenant isolation, table-driven. Two attackers:
 *  - `ownerA`: the owner key (`*`) of workspace A, aimed at workspace B's development data;
 *  - `pinnedA`: a `*` key of workspace A pinned to A's development environment, aimed at
 *    A's production data.
 * Every query and mutation of schema.graphql has at least one row per attacker (a test below
 * parses the schema and fails on any operation without one). Each row checks the exact error
 * (or, for operations that cannot name a foreign object, that the answer stays within the
 * caller's reach), that the response carries no id or value of the victim that the request did
 * not itself contain, and that the victim's data, read back with the victim's own key, is
 * exactly as it was before.
 */

type Attacker = 'ownerA' | 'pinnedA';
const ATTACKERS: Attacker[] = ['ownerA', 'pinnedA'];

/** The seeded data of one environment; every string carries the environment's tag. */
interface EnvData {
  tag: string;
  environmentId: string;
  orgId: string;
  orgName: string;
  orgExternalId: string;
  domainId: string;
  domain: string;
  verificationToken: string;
  userId: string;
  userEmail: string;
  suspendedUserId: string;
  membershipId: string;
  roleId: string;
  roleKey: string;
  adminRoleId: string;
  permissionId: string;
  permissionKey: string;
  attributeId: string;
  attributeKey: string;
  attributeValue: string;
  apiKeyId: string;
  apiKeyPrefix: string;
  apiKeyName: string;
  webhookEndpointId: string;
  webhookUrl: string;
  webhookDeliveryId: string;
  resourceServerId: string;
  resourceIdentifier: string;
  serviceAccountId: string;
  applicationId: string;
  clientSecretId: string;
  clientSecretPrefix: string;
  trustedIssuerId: string;
  trustedIssuerUrl: string;
  signingKeyId: string;
  signingKid: string;
  outboxMessageId: string;
  /** A live session of the user, used with the organization and the application. */
  sessionId: string;
  /** The user's consent to the application. */
  consentId: string;
  /** An SSO connection (OIDC, with a client secret) of the organization. */
  ssoConnectionId: string;
  ssoClientId: string;
  /** A SAML connection (DRAFT) of the organization, and an SP signing key of it. */
  samlConnectionId: string;
  spKeyId: string;
  /** A social connection (GitHub, with a client secret) of the environment. */
  socialConnectionId: string;
  /** A SCIM directory of the organization, linked to its SSO connection; a User and a Group it provisioned. */
  directoryId: string;
  directoryUserId: string;
  directoryGroupId: string;
  socialClientId: string;
  /** A sign-in trace of that connection (its person's email is findable). */
  ssoTraceId: string;
  ssoTraceEmail: string;
  /** Ids of every audit event of the environment. */
  auditEventIds: string[];
}

/** What an attacker aims at: the victim environment's data plus workspace-level objects around it. */
interface Target extends EnvData {
  workspaceId: string;
  /** The victim workspace's owner key (workspace-wide, not pinned). */
  ownerKeyId: string;
  /** A workspace-level audit event (no environment) of the victim's workspace. */
  workspaceEventId: string;
}

interface Victim {
  label: string;
  /** A key that legitimately reaches the victim's data. */
  client: GraphQLClient;
  target: Target;
  /** Whether the whole workspace is the victim (B) or only one environment of it (A's production). */
  workspaceWide: boolean;
  /** Strings of the victim that must never appear in an attacker's response unless the attacker sent them. */
  sentinels: string[];
  baseline: unknown;
}

interface Fixture {
  server: TestServer;
  A: TestWorkspace;
  B: TestWorkspace;
  ownerA: GraphQLClient;
  pinnedA: GraphQLClient;
  ownerKeyIdA: string;
  pinnedKeyId: string;
  aDev: EnvData;
  victims: Record<Attacker, Victim>;
}

type Expectation =
  /** A GraphQL error with this `extensions.code` (and `reason`), no data for the field. */
  | { error: 'NOT_FOUND' | 'FORBIDDEN' | 'BAD_USER_INPUT'; reason?: string }
  /** The payload carries exactly this user error and no object. */
  | { userError: string }
  /** The operation is allowed; it must stay within the caller's own reach. */
  | { check: (data: any, f: Fixture, attacker: Attacker) => void | Promise<void> };

interface Row {
  operation: string;
  name: string;
  document: string;
  variables?: (t: Target, f: Fixture, attacker: Attacker) => Record<string, unknown>;
  expect: Partial<Record<Attacker, Expectation>>;
}

interface Case extends Row {
  attacker: Attacker;
  expectation: Expectation;
}

const notFound = (resource: string): Expectation => ({ error: 'NOT_FOUND', reason: `${resource}.not_found` });
const forbidden = (reason: string): Expectation => ({ error: 'FORBIDDEN', reason });
const environmentRequired: Expectation = { error: 'BAD_USER_INPUT', reason: 'environment.required' };
const both = (expectation: Expectation) => ({ ownerA: expectation, pinnedA: expectation });

// Selections that pull in every relation, so a leak through a nested field would show.
const ORG = 'id name externalId metadata environmentId domains { id domain verificationToken } memberships { totalCount nodes { id user { id email } roles { id key } } }';
const USER = 'id email givenName externalId status customAttributes environmentId memberships { nodes { id organization { id name } } }';
const ROLE = 'id key name description environmentId permissions { id key }';
const PERMISSION = 'id key description';
const ATTRIBUTE = 'id key type required description';
const MEMBERSHIP = 'id status organization { id name } user { id email } roles { id key name }';
const DOMAIN = 'id domain verificationToken organizationId';
const API_KEY = 'id name prefix environmentId scopes';
const ENVIRONMENT = 'id name slug kind workspaceId';
const AUDIT = 'id action environmentId organizationId actor { id name } targets { id name type } before after';
const SECRETS = 'clientSecrets { id prefix clientId revokedAt }';
const SERVICE_ACCOUNT = `id clientId name environmentId organizationId allowedAudiences allowedScopes customClaims jwks jwksUri roles { id key } ${SECRETS}`;
const APPLICATION = `id clientId name type environmentId allowedAudiences roles { id key } ${SECRETS}`;
const RESOURCE_SERVER = 'id name identifier environmentId metadataUrl scopes { name description }';
const SSO_CONNECTION = 'id name environmentId organizationId status oidc { issuer clientId hasClientSecret } saml { spEntityId idpEntityId }';
const SOCIAL_CONNECTION = 'id name environmentId provider enabled clientId redirectUri scopes issuer authorizationUrl tokenUrl userinfoUrl';
const DIRECTORY = 'id name environmentId organizationId provider status baseUrl tokenPrefix previousTokenExpiresAt groupRoleMappings { group roleKeys } connectionId lastRequestAt setupHint userCount groupCount recentErrors { status }';
const SSO_TRACE = 'id environmentId organizationId connectionId outcome email userId requestIds profile steps { step detail }';
const TRUSTED_ISSUER = 'id name issuer environmentId jwks jwksUri audiences';
const SIGNING_KEY = 'id kid environmentId algorithm state publicJwk activatesAt';
const SESSION = 'id environmentId ipAddress userAgent active endReason applicationIds organizationIds authenticationMethods user { id email }';
const CONSENT = 'id environmentId applicationId scopes resources user { id email }';
const NODE = `id __typename
  ... on Organization { name externalId }
  ... on User { email }
  ... on OrganizationDomain { domain verificationToken }
  ... on Membership { organizationId userId }
  ... on Role { key name }
  ... on Permission { key }
  ... on CustomAttributeDefinition { key }
  ... on ApiKey { name prefix }
  ... on Environment { name workspaceId }
  ... on Workspace { name slug }
  ... on AuditEvent { action targets { id name } }
  ... on ServiceAccount { name clientId allowedAudiences clientSecrets { prefix } }
  ... on Application { name type }
  ... on ClientSecret { prefix clientId }
  ... on ResourceServer { name identifier }
  ... on TrustedIssuer { name issuer }
  ... on SigningKey { kid state }
  ... on Session { userAgent applicationIds organizationIds user { email } }
  ... on Consent { applicationId scopes user { email } }
  ... on SsoConnection { name organizationId oidc { clientId } }`;

const mutation = (operation: string, inputType: string, selection: string) =>
  `mutation($input: ${inputType}!) { ${operation}(input: $input) { ${selection} userErrors { code field message } } }`;

function checkOwnEnvironment(field: string, environmentOf: (node: any) => string) {
  return (data: any, f: Fixture) => {
    const value = data[field];
    const nodes = Array.isArray(value) ? value : (value.nodes ?? [value]);
    for (const node of nodes) expect(environmentOf(node)).toBe(f.aDev.environmentId);
  };
}

/** The table. Rows for the same operation sit together; rows run in this order. */
const ROWS: Row[] = [
  // ───────────────────────────── queries ─────────────────────────────
  {
    operation: 'apiKeys',
    name: 'lists only keys the caller reaches',
    document: `query { apiKeys(first: 100) { totalCount pageInfo { hasNextPage } nodes { ${API_KEY} } } }`,
    expect: {
      ownerA: {
        check: (data, f) => {
          const ids = data.apiKeys.nodes.map((key: any) => key.id);
          expect(ids).toContain(f.ownerKeyIdA);
          expect(ids).toContain(f.pinnedKeyId);
          expect(data.apiKeys.pageInfo.hasNextPage).toBe(false);
        },
      },
      pinnedA: {
        check: (data, f) => {
          const ids = data.apiKeys.nodes.map((key: any) => key.id);
          expect(ids).toContain(f.pinnedKeyId);
          expect(ids).not.toContain(f.ownerKeyIdA);
          for (const key of data.apiKeys.nodes) expect(key.environmentId).toBe(f.aDev.environmentId);
        },
      },
    },
  },
  {
    operation: 'auditEvents',
    name: "with the victim's environmentId",
    document: `query($env: ID) { auditEvents(environmentId: $env, first: 100) { nodes { ${AUDIT} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'auditEvents',
    name: "without environmentId returns only the caller's events",
    document: `query { auditEvents(first: 100) { totalCount pageInfo { hasNextPage } nodes { ${AUDIT} } } }`,
    expect: {
      ownerA: {
        check: (data, f) => {
          expect(data.auditEvents.pageInfo.hasNextPage).toBe(false);
          expect(data.auditEvents.nodes.length).toBeGreaterThan(10);
          const own = [f.A.development.id, f.A.production.id, null];
          for (const event of data.auditEvents.nodes) expect(own).toContain(event.environmentId);
        },
      },
      pinnedA: {
        check: (data, f) => {
          expect(data.auditEvents.nodes.length).toBeGreaterThan(5);
          for (const event of data.auditEvents.nodes) expect(event.environmentId).toBe(f.aDev.environmentId);
        },
      },
    },
  },
  {
    operation: 'auditEvents',
    name: "filtered by the victim's organization as target",
    document: `query($id: ID) { auditEvents(first: 100, filter: { targetId: $id }) { totalCount nodes { ${AUDIT} } } }`,
    variables: (t) => ({ id: t.orgId }),
    expect: both({ check: (data) => expect(data.auditEvents).toEqual({ totalCount: 0, nodes: [] }) }),
  },
  {
    operation: 'auditEvents',
    name: "filtered by the victim's organizationId",
    document: `query($id: ID) { auditEvents(first: 100, filter: { organizationId: $id }) { totalCount nodes { ${AUDIT} } } }`,
    variables: (t) => ({ id: t.orgId }),
    expect: both({ check: (data) => expect(data.auditEvents).toEqual({ totalCount: 0, nodes: [] }) }),
  },
  {
    operation: 'auditEvents',
    name: "filtered by the victim workspace's owner key as actor",
    document: `query($id: ID) { auditEvents(first: 100, filter: { actorId: $id }) { totalCount nodes { ${AUDIT} } } }`,
    variables: (t) => ({ id: t.ownerKeyId }),
    expect: { ownerA: { check: (data) => expect(data.auditEvents).toEqual({ totalCount: 0, nodes: [] }) } },
  },
  {
    operation: 'auditChainVerification',
    name: "of the victim's environment",
    document: `query($env: ID) { auditChainVerification(environmentId: $env) { chainKey valid eventsChecked headHash } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'auditChainVerification',
    name: "without environmentId verifies only the caller's own chain",
    document: `query { auditChainVerification { chainKey valid eventsChecked } }`,
    expect: {
      ownerA: { check: (data, f) => expect(data.auditChainVerification).toMatchObject({ chainKey: `wks:${f.A.workspace.id}`, valid: true }) },
      pinnedA: { check: (data, f) => expect(data.auditChainVerification).toMatchObject({ chainKey: f.A.development.id, valid: true }) },
    },
  },
  {
    operation: 'consents',
    name: "with the victim's environmentId",
    document: `query($env: ID) { consents(environmentId: $env, first: 50) { totalCount nodes { ${CONSENT} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'consents',
    name: 'without environmentId',
    document: `query { consents(first: 50) { totalCount nodes { ${CONSENT} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.consents.nodes.map((c: any) => c.id)).toContain(f.aDev.consentId);
          checkOwnEnvironment('consents', (c) => c.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'consents',
    name: "in the caller's environment, filtered by the victim's user and application",
    document: `query($env: ID, $user: ID, $app: ID) {
      byUser: consents(environmentId: $env, filter: { userId: $user }) { totalCount nodes { id } }
      byApplication: consents(environmentId: $env, filter: { applicationId: $app }) { totalCount nodes { id } }
    }`,
    variables: (t, f) => ({ env: f.aDev.environmentId, user: t.userId, app: t.applicationId }),
    expect: both({
      check: (data) => {
        expect(data.byUser).toEqual({ totalCount: 0, nodes: [] });
        expect(data.byApplication).toEqual({ totalCount: 0, nodes: [] });
      },
    }),
  },
  {
    operation: 'customAttributeDefinitions',
    name: "with the victim's environmentId",
    document: `query($env: ID) { customAttributeDefinitions(environmentId: $env) { ${ATTRIBUTE} } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'customAttributeDefinitions',
    name: 'without environmentId',
    document: `query { customAttributeDefinitions { ${ATTRIBUTE} } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => expect(data.customAttributeDefinitions.map((d: any) => d.id)).toContain(f.aDev.attributeId),
      },
    },
  },
  {
    operation: 'environment',
    name: "the victim's environment",
    document: `query($id: ID!) { environment(id: $id) { ${ENVIRONMENT} } }`,
    variables: (t) => ({ id: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'environments',
    name: 'lists only environments the caller reaches',
    document: `query { environments(first: 100) { totalCount nodes { ${ENVIRONMENT} } } }`,
    expect: {
      ownerA: {
        check: (data, f) =>
          expect(data.environments.nodes.map((e: any) => e.id).sort()).toEqual([f.A.development.id, f.A.production.id].sort()),
      },
      pinnedA: { check: (data, f) => expect(data.environments.nodes.map((e: any) => e.id)).toEqual([f.aDev.environmentId]) },
    },
  },
  // `node(id:)` rows are generated from NODE_TARGETS below the table.
  {
    operation: 'nodes',
    name: "every object of the victim's",
    document: `query($ids: [ID!]!) { nodes(ids: $ids) { ${NODE} } }`,
    variables: (t, _f, attacker) => ({ ids: NODE_TARGETS.filter((n) => n.attackers.includes(attacker)).map((n) => n.id(t)) }),
    // Which of the ids is reported first is an implementation detail; every error must be NOT_FOUND.
    expect: both({ error: 'NOT_FOUND' }),
  },
  {
    operation: 'nodes',
    name: "one of the caller's ids and one of the victim's",
    document: `query($ids: [ID!]!) { nodes(ids: $ids) { ${NODE} } }`,
    variables: (t, f) => ({ ids: [f.aDev.orgId, t.orgId] }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'organization',
    name: "by the victim's id",
    document: `query($id: ID) { organization(id: $id) { ${ORG} } }`,
    variables: (t) => ({ id: t.orgId }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'organization',
    name: "by externalId in the victim's environment",
    document: `query($ext: String, $env: ID) { organization(externalId: $ext, environmentId: $env) { ${ORG} } }`,
    variables: (t) => ({ ext: t.orgExternalId, env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'organization',
    name: "by the victim's externalId without environmentId",
    document: `query($ext: String) { organization(externalId: $ext) { ${ORG} } }`,
    variables: (t) => ({ ext: t.orgExternalId }),
    expect: { ownerA: environmentRequired, pinnedA: { check: (data) => expect(data.organization).toBeNull() } },
  },
  {
    operation: 'organization',
    name: "by the victim's externalId in the caller's environment",
    document: `query($ext: String, $env: ID) { organization(externalId: $ext, environmentId: $env) { ${ORG} } }`,
    variables: (t, f) => ({ ext: t.orgExternalId, env: f.aDev.environmentId }),
    expect: both({ check: (data) => expect(data.organization).toBeNull() }),
  },
  {
    operation: 'organizations',
    name: "with the victim's environmentId",
    document: `query($env: ID) { organizations(environmentId: $env, first: 10) { totalCount nodes { ${ORG} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'organizations',
    name: 'without environmentId',
    document: `query { organizations(first: 10) { totalCount nodes { ${ORG} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.organizations.nodes.map((o: any) => o.id)).toContain(f.aDev.orgId);
          checkOwnEnvironment('organizations', (o) => o.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'organizations',
    name: "in the caller's environment, filtered by the victim's domain and externalId",
    document: `query($env: ID, $domain: String, $ext: String) {
      byDomain: organizations(environmentId: $env, filter: { domain: $domain }) { totalCount nodes { id } }
      byExternalId: organizations(environmentId: $env, filter: { externalId: $ext }) { totalCount nodes { id } }
    }`,
    variables: (t, f) => ({ env: f.aDev.environmentId, domain: t.domain, ext: t.orgExternalId }),
    expect: both({
      check: (data) => {
        expect(data.byDomain).toEqual({ totalCount: 0, nodes: [] });
        expect(data.byExternalId).toEqual({ totalCount: 0, nodes: [] });
      },
    }),
  },
  {
    operation: 'permissions',
    name: "with the victim's environmentId",
    document: `query($env: ID) { permissions(environmentId: $env, first: 50) { totalCount nodes { ${PERMISSION} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'permissions',
    name: 'without environmentId',
    document: `query { permissions(first: 50) { totalCount nodes { ${PERMISSION} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: { check: (data, f) => expect(data.permissions.nodes.map((p: any) => p.id)).toContain(f.aDev.permissionId) },
    },
  },
  {
    operation: 'role',
    name: "the victim's custom role by id",
    document: `query($id: ID) { role(id: $id) { ${ROLE} } }`,
    variables: (t) => ({ id: t.roleId }),
    expect: both(notFound('role')),
  },
  {
    operation: 'role',
    name: "the victim's built-in admin role by id",
    document: `query($id: ID) { role(id: $id) { ${ROLE} } }`,
    variables: (t) => ({ id: t.adminRoleId }),
    expect: both(notFound('role')),
  },
  {
    operation: 'role',
    name: "by key in the victim's environment",
    document: `query($key: String, $env: ID) { role(key: $key, environmentId: $env) { ${ROLE} } }`,
    variables: (t) => ({ key: t.roleKey, env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'role',
    name: "by the victim's key without environmentId",
    document: `query($key: String) { role(key: $key) { ${ROLE} } }`,
    variables: (t) => ({ key: t.roleKey }),
    expect: { ownerA: environmentRequired, pinnedA: { check: (data) => expect(data.role).toBeNull() } },
  },
  {
    operation: 'roles',
    name: "with the victim's environmentId",
    document: `query($env: ID) { roles(environmentId: $env, first: 50) { totalCount nodes { ${ROLE} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'roles',
    name: 'without environmentId',
    document: `query { roles(first: 50) { totalCount nodes { ${ROLE} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.roles.nodes.map((r: any) => r.id)).toContain(f.aDev.roleId);
          checkOwnEnvironment('roles', (r) => r.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'sessions',
    name: "with the victim's environmentId",
    document: `query($env: ID) { sessions(environmentId: $env, first: 50, filter: { activeOnly: false }) { totalCount nodes { ${SESSION} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'sessions',
    name: 'without environmentId',
    document: `query { sessions(first: 50, filter: { activeOnly: false }) { totalCount nodes { ${SESSION} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.sessions.nodes.map((s: any) => s.id)).toContain(f.aDev.sessionId);
          checkOwnEnvironment('sessions', (s) => s.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'sessions',
    name: "in the caller's environment, filtered by the victim's user and organization",
    document: `query($env: ID, $user: ID, $org: ID) {
      byUser: sessions(environmentId: $env, filter: { userId: $user, activeOnly: false }) { totalCount nodes { id } }
      byOrganization: sessions(environmentId: $env, filter: { organizationId: $org, activeOnly: false }) { totalCount nodes { id } }
    }`,
    variables: (t, f) => ({ env: f.aDev.environmentId, user: t.userId, org: t.orgId }),
    expect: both({
      check: (data) => {
        expect(data.byUser).toEqual({ totalCount: 0, nodes: [] });
        expect(data.byOrganization).toEqual({ totalCount: 0, nodes: [] });
      },
    }),
  },
  {
    operation: 'user',
    name: "by the victim's id",
    document: `query($id: ID) { user(id: $id) { ${USER} } }`,
    variables: (t) => ({ id: t.userId }),
    expect: both(notFound('user')),
  },
  {
    operation: 'user',
    name: "by email in the victim's environment",
    document: `query($email: String, $env: ID) { user(email: $email, environmentId: $env) { ${USER} } }`,
    variables: (t) => ({ email: t.userEmail, env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'user',
    name: "by the victim's email without environmentId",
    document: `query($email: String) { user(email: $email) { ${USER} } }`,
    variables: (t) => ({ email: t.userEmail }),
    expect: { ownerA: environmentRequired, pinnedA: { check: (data) => expect(data.user).toBeNull() } },
  },
  {
    operation: 'user',
    name: "by the victim's email in the caller's environment",
    document: `query($email: String, $env: ID) { user(email: $email, environmentId: $env) { ${USER} } }`,
    variables: (t, f) => ({ email: t.userEmail, env: f.aDev.environmentId }),
    expect: both({ check: (data) => expect(data.user).toBeNull() }),
  },
  {
    operation: 'users',
    name: "with the victim's environmentId",
    document: `query($env: ID) { users(environmentId: $env, first: 50) { totalCount nodes { ${USER} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'users',
    name: 'without environmentId',
    document: `query { users(first: 50) { totalCount nodes { ${USER} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.users.nodes.map((u: any) => u.id)).toContain(f.aDev.userId);
          checkOwnEnvironment('users', (u) => u.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'users',
    name: "in the caller's environment, filtered by the victim's organization and email",
    document: `query($env: ID, $org: ID, $email: String) {
      byOrganization: users(environmentId: $env, filter: { organizationId: $org }) { totalCount nodes { id } }
      byEmail: users(environmentId: $env, filter: { email: $email }) { totalCount nodes { id } }
    }`,
    variables: (t, f) => ({ env: f.aDev.environmentId, org: t.orgId, email: t.userEmail }),
    expect: both({
      check: (data) => {
        expect(data.byOrganization).toEqual({ totalCount: 0, nodes: [] });
        expect(data.byEmail).toEqual({ totalCount: 0, nodes: [] });
      },
    }),
  },
  {
    operation: 'viewer',
    name: "names only the caller's workspace and environments",
    document: `query { viewer { workspaceId environmentIds scopes apiKey { ${API_KEY} } } }`,
    expect: {
      ownerA: {
        check: (data, f) => {
          expect(data.viewer.workspaceId).toBe(f.A.workspace.id);
          expect([...data.viewer.environmentIds].sort()).toEqual([f.A.development.id, f.A.production.id].sort());
          expect(data.viewer.apiKey.id).toBe(f.ownerKeyIdA);
        },
      },
      pinnedA: {
        check: (data, f) => {
          expect(data.viewer).toMatchObject({ workspaceId: f.A.workspace.id, environmentIds: [f.aDev.environmentId], scopes: ['*'] });
          expect(data.viewer.apiKey).toMatchObject({ id: f.pinnedKeyId, environmentId: f.aDev.environmentId });
        },
      },
    },
  },
  {
    operation: 'workspace',
    name: "is the caller's own workspace",
    document: `query { workspace { id name slug } }`,
    expect: both({ check: (data, f) => expect(data.workspace).toMatchObject({ id: f.A.workspace.id, slug: f.A.workspace.slug }) }),
  },

  // ───────────────────────────── mutations ─────────────────────────────
  {
    operation: 'addMembershipRoles',
    name: "on the victim's membership",
    document: mutation('addMembershipRoles', 'MembershipRolesInput', `membership { ${MEMBERSHIP} }`),
    variables: (t) => ({ input: { membershipId: t.membershipId, roleKeys: ['member'] } }),
    expect: both(notFound('membership')),
  },
  {
    operation: 'addMembershipRoles',
    name: "granting the victim's custom role on the caller's membership",
    document: mutation('addMembershipRoles', 'MembershipRolesInput', `membership { ${MEMBERSHIP} }`),
    variables: (t, f) => ({ input: { membershipId: f.aDev.membershipId, roleKeys: [t.roleKey] } }),
    expect: both({ userError: 'role.unknown' }),
  },
  {
    operation: 'addOrganizationDomain',
    name: "on the victim's organization",
    document: mutation('addOrganizationDomain', 'AddOrganizationDomainInput', `domain { ${DOMAIN} }`),
    variables: (t) => ({ input: { organizationId: t.orgId, domain: 'intruder-domain.example', state: 'VERIFIED' } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createApiKey',
    name: "pinned to the victim's environment",
    document: mutation('createApiKey', 'CreateApiKeyInput', `secret apiKey { ${API_KEY} }`),
    variables: (t) => ({ input: { name: 'intruder key', environmentId: t.environmentId, scopes: ['*'] } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createCustomAttributeDefinition',
    name: "in the victim's environment",
    document: mutation('createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', `customAttributeDefinition { ${ATTRIBUTE} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, key: 'intruder_attr', type: 'STRING' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createCustomAttributeDefinition',
    name: 'without environmentId',
    document: mutation('createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', `customAttributeDefinition { ${ATTRIBUTE} }`),
    variables: () => ({ input: { key: 'pinned_attr', type: 'BOOLEAN' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: {
        check: async (data, f) => {
          const id = data.createCustomAttributeDefinition.customAttributeDefinition.id;
          const own = await f.ownerA.data(`query($env: ID) { customAttributeDefinitions(environmentId: $env) { id } }`, {
            env: f.aDev.environmentId,
          });
          expect(own.customAttributeDefinitions.map((d: any) => d.id)).toContain(id);
        },
      },
    },
  },
  {
    operation: 'createEnvironment',
    name: "creates only in the caller's workspace",
    document: mutation('createEnvironment', 'CreateEnvironmentInput', `environment { ${ENVIRONMENT} }`),
    variables: () => ({ input: { name: 'Staging', slug: 'staging', kind: 'PRODUCTION' } }),
    expect: {
      ownerA: {
        check: async (data, f) => {
          const created = data.createEnvironment.environment;
          expect(created.workspaceId).toBe(f.A.workspace.id);
          // Leave A as it was: the other rows expect its two environments.
          const deleted = await f.ownerA.data(
            `mutation($input: DeleteEnvironmentInput!) { deleteEnvironment(input: $input) { deletedId userErrors { code } } }`,
            { input: { id: created.id } },
          );
          expect(deleted.deleteEnvironment).toEqual({ deletedId: created.id, userErrors: [] });
        },
      },
      pinnedA: forbidden('environment.workspace_key_required'),
    },
  },
  {
    operation: 'createMembership',
    name: "of the victim's user in the victim's organization",
    document: mutation('createMembership', 'CreateMembershipInput', `membership { ${MEMBERSHIP} }`),
    variables: (t) => ({ input: { organizationId: t.orgId, userId: t.suspendedUserId } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createMembership',
    name: "of the victim's user in the caller's organization",
    document: mutation('createMembership', 'CreateMembershipInput', `membership { ${MEMBERSHIP} }`),
    variables: (t, f) => ({ input: { organizationId: f.aDev.orgId, userId: t.userId } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'createMembership',
    name: "of the caller's user in the victim's organization",
    document: mutation('createMembership', 'CreateMembershipInput', `membership { ${MEMBERSHIP} }`),
    variables: (t, f) => ({ input: { organizationId: t.orgId, userId: f.aDev.suspendedUserId } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createOrganization',
    name: "in the victim's environment",
    document: mutation('createOrganization', 'CreateOrganizationInput', `organization { ${ORG} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, name: 'Intruder Org', domains: [{ domain: 'intruder-org.example' }] } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createOrganization',
    name: 'without environmentId',
    document: mutation('createOrganization', 'CreateOrganizationInput', `organization { ${ORG} }`),
    variables: () => ({ input: { name: 'Pinned Org' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createOrganization', (payload) => payload.organization.environmentId) },
    },
  },
  {
    operation: 'createPermission',
    name: "in the victim's environment",
    document: mutation('createPermission', 'CreatePermissionInput', `permission { ${PERMISSION} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, key: 'intruder:read' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createPermission',
    name: 'without environmentId',
    document: mutation('createPermission', 'CreatePermissionInput', `permission { ${PERMISSION} }`),
    variables: () => ({ input: { key: 'pinned:read' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: {
        check: async (data, f) => {
          const own = await f.ownerA.data(`query($env: ID) { permissions(environmentId: $env, first: 100) { nodes { id } } }`, {
            env: f.aDev.environmentId,
          });
          expect(own.permissions.nodes.map((p: any) => p.id)).toContain(data.createPermission.permission.id);
        },
      },
    },
  },
  {
    operation: 'createRole',
    name: "in the victim's environment",
    document: mutation('createRole', 'CreateRoleInput', `role { ${ROLE} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, key: 'intruder', name: 'Intruder' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createRole',
    name: "in the caller's environment with the victim's permission",
    document: mutation('createRole', 'CreateRoleInput', `role { ${ROLE} }`),
    variables: (t, f) => ({
      input: { environmentId: f.aDev.environmentId, key: 'borrower', name: 'Borrower', permissionKeys: [t.permissionKey] },
    }),
    expect: both({ userError: 'role.unknown_permission' }),
  },
  {
    operation: 'createRole',
    name: 'without environmentId',
    document: mutation('createRole', 'CreateRoleInput', `role { ${ROLE} }`),
    variables: () => ({ input: { key: 'pinned-role', name: 'Pinned role' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createRole', (payload) => payload.role.environmentId) },
    },
  },
  {
    operation: 'createUser',
    name: "in the victim's environment",
    document: mutation('createUser', 'CreateUserInput', `user { ${USER} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, email: 'intruder@intruder.example' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createUser',
    name: 'without environmentId',
    document: mutation('createUser', 'CreateUserInput', `user { ${USER} }`),
    variables: () => ({ input: { email: 'pinned@pinned.example' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createUser', (payload) => payload.user.environmentId) },
    },
  },
  {
    operation: 'deleteCustomAttributeDefinition',
    name: "the victim's definition",
    document: mutation('deleteCustomAttributeDefinition', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.attributeId } }),
    expect: both(notFound('custom_attribute')),
  },
  {
    operation: 'deleteEnvironment',
    name: "the victim's environment",
    document: mutation('deleteEnvironment', 'DeleteEnvironmentInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.environmentId } }),
    expect: { ownerA: notFound('environment'), pinnedA: forbidden('environment.workspace_key_required') },
  },
  {
    operation: 'deleteMembership',
    name: "the victim's membership",
    document: mutation('deleteMembership', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.membershipId } }),
    expect: both(notFound('membership')),
  },
  {
    operation: 'webhookEndpoints',
    name: "with the victim's environmentId",
    document: `query($env: ID) { webhookEndpoints(environmentId: $env) { nodes { id url } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'webhookDeliveries',
    name: "of the victim's endpoint",
    document: `query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id eventId } } }`,
    variables: (t) => ({ id: t.webhookEndpointId }),
    expect: both(notFound('webhook_endpoint')),
  },
  {
    operation: 'createWebhookEndpoint',
    name: "in the victim's environment",
    document: mutation('createWebhookEndpoint', 'CreateWebhookEndpointInput', 'secret webhookEndpoint { id url }'),
    variables: (t) => ({ input: { environmentId: t.environmentId, url: 'https://intruder.example/steal' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'updateWebhookEndpoint',
    name: "the victim's endpoint",
    document: mutation('updateWebhookEndpoint', 'UpdateWebhookEndpointInput', 'webhookEndpoint { id url }'),
    variables: (t) => ({ input: { id: t.webhookEndpointId, url: 'https://intruder.example/steal' } }),
    expect: both(notFound('webhook_endpoint')),
  },
  {
    operation: 'rotateWebhookSecret',
    name: "the victim's endpoint",
    document: mutation('rotateWebhookSecret', 'WebhookEndpointIdInput', 'secret webhookEndpoint { id }'),
    variables: (t) => ({ input: { id: t.webhookEndpointId } }),
    expect: both(notFound('webhook_endpoint')),
  },
  {
    operation: 'deleteWebhookEndpoint',
    name: "the victim's endpoint",
    document: mutation('deleteWebhookEndpoint', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.webhookEndpointId } }),
    expect: both(notFound('webhook_endpoint')),
  },
  {
    operation: 'redeliverWebhook',
    name: "the victim's delivery",
    document: mutation('redeliverWebhook', 'RedeliverWebhookInput', 'delivery { id }'),
    variables: (t) => ({ input: { deliveryId: t.webhookDeliveryId } }),
    expect: both(notFound('webhook_delivery')),
  },
  // ───────────────────────────── OAuth ─────────────────────────────
  {
    operation: 'serviceAccounts',
    name: "with the victim's environmentId",
    document: `query($env: ID) { serviceAccounts(environmentId: $env, first: 50) { totalCount nodes { ${SERVICE_ACCOUNT} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'serviceAccounts',
    name: 'without environmentId',
    document: `query { serviceAccounts(first: 50) { totalCount nodes { ${SERVICE_ACCOUNT} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.serviceAccounts.nodes.map((s: any) => s.id)).toContain(f.aDev.serviceAccountId);
          checkOwnEnvironment('serviceAccounts', (s) => s.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'serviceAccounts',
    name: "in the caller's environment, filtered by the victim's organization",
    document: `query($env: ID, $org: ID) { serviceAccounts(environmentId: $env, organizationId: $org) { totalCount nodes { id } } }`,
    variables: (t, f) => ({ env: f.aDev.environmentId, org: t.orgId }),
    expect: both({ check: (data) => expect(data.serviceAccounts).toEqual({ totalCount: 0, nodes: [] }) }),
  },
  {
    operation: 'applications',
    name: "with the victim's environmentId",
    document: `query($env: ID) { applications(environmentId: $env, first: 50) { totalCount nodes { ${APPLICATION} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'applications',
    name: 'without environmentId',
    document: `query { applications(first: 50) { totalCount nodes { ${APPLICATION} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.applications.nodes.map((a: any) => a.id)).toContain(f.aDev.applicationId);
          checkOwnEnvironment('applications', (a) => a.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'ssoConnections',
    name: "with the victim's environmentId",
    document: `query($env: ID) { ssoConnections(environmentId: $env, first: 50) { totalCount nodes { ${SSO_CONNECTION} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'ssoConnections',
    name: "with the victim's organizationId",
    document: `query($org: ID) { ssoConnections(organizationId: $org, first: 50) { totalCount nodes { ${SSO_CONNECTION} } } }`,
    variables: (t) => ({ org: t.orgId }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'ssoConnections',
    name: 'without environmentId',
    document: `query { ssoConnections(first: 50) { totalCount nodes { ${SSO_CONNECTION} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.ssoConnections.nodes.map((c: any) => c.id)).toContain(f.aDev.ssoConnectionId);
          checkOwnEnvironment('ssoConnections', (c) => c.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'ssoTraces',
    name: "with the victim's environmentId",
    document: `query($env: ID) { ssoTraces(environmentId: $env, first: 50) { totalCount nodes { ${SSO_TRACE} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'ssoTraces',
    name: "with the victim's organizationId",
    document: `query($org: ID) { ssoTraces(organizationId: $org, first: 50) { totalCount nodes { ${SSO_TRACE} } } }`,
    variables: (t) => ({ org: t.orgId }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'ssoTraces',
    name: "with the victim's connectionId",
    document: `query($con: ID) { ssoTraces(connectionId: $con, first: 50) { totalCount nodes { ${SSO_TRACE} } } }`,
    variables: (t) => ({ con: t.ssoConnectionId }),
    expect: both(notFound('sso_connection')),
  },
  {
    operation: 'ssoTraces',
    name: "with the victim's request id as the filter",
    document: `query($rid: String) { ssoTraces(first: 50, filter: { requestId: $rid }) { totalCount nodes { ${SSO_TRACE} } } }`,
    variables: (t) => ({ rid: `req-${t.tag}` }),
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.ssoTraces.nodes).toEqual([]);
          expect(data.ssoTraces.totalCount).toBe(0);
        },
      },
    },
  },
  {
    operation: 'createSamlConnection',
    name: "for the victim's organization",
    document: mutation('createSamlConnection', 'CreateSamlConnectionInput', `ssoConnection { ${SSO_CONNECTION} }`),
    variables: (t) => ({ input: { organizationId: t.orgId, name: 'Intruder IdP', idpEntityId: 'https://intruder.example/idp' } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createOidcConnection',
    name: "for the victim's organization",
    document: mutation('createOidcConnection', 'CreateOidcConnectionInput', `ssoConnection { ${SSO_CONNECTION} }`),
    variables: (t) => ({ input: { organizationId: t.orgId, name: 'Intruder IdP', issuer: 'https://intruder.example' } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createSimulatorConnection',
    name: "in the victim's environment",
    document: mutation('createSimulatorConnection', 'CreateSimulatorConnectionInput', `ssoConnection { ${SSO_CONNECTION} } organization { ${ORG} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'updateSamlConnection',
    name: "the victim's connection",
    document: mutation('updateSamlConnection', 'UpdateSamlConnectionInput', `ssoConnection { ${SSO_CONNECTION} }`),
    variables: (t) => ({ input: { id: t.ssoConnectionId, idpEntityId: 'https://intruder.example/idp' } }),
    expect: both(notFound('sso_connection')),
  },
  {
    operation: 'updateOidcConnection',
    name: "the victim's connection (pointing its sign-ins at the intruder's IdP)",
    document: mutation('updateOidcConnection', 'UpdateOidcConnectionInput', `ssoConnection { ${SSO_CONNECTION} }`),
    variables: (t) => ({ input: { id: t.ssoConnectionId, issuer: 'https://intruder.example', clientSecret: 'stolen' } }),
    expect: both(notFound('sso_connection')),
  },
  {
    operation: 'createSsoSpKey',
    name: "for the victim's SAML connection",
    document: mutation('createSsoSpKey', 'CreateSsoSpKeyInput', 'spKey { id certificate }'),
    variables: (t) => ({ input: { connectionId: t.samlConnectionId, use: 'ENCRYPTION' } }),
    expect: both(notFound('sso_connection')),
  },
  {
    operation: 'deleteSsoSpKey',
    name: "the victim's SP key",
    document: mutation('deleteSsoSpKey', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.spKeyId } }),
    expect: both(notFound('sso_sp_key')),
  },
  {
    operation: 'deleteSsoConnection',
    name: "the victim's connection",
    document: mutation('deleteSsoConnection', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.ssoConnectionId } }),
    expect: both(notFound('sso_connection')),
  },
  {
    operation: 'socialConnections',
    name: "with the victim's environmentId",
    document: `query($env: ID) { socialConnections(environmentId: $env, first: 50) { totalCount nodes { ${SOCIAL_CONNECTION} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'socialConnections',
    name: 'without environmentId',
    document: `query { socialConnections(first: 50) { totalCount nodes { ${SOCIAL_CONNECTION} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.socialConnections.nodes.map((c: any) => c.id)).toContain(f.aDev.socialConnectionId);
          checkOwnEnvironment('socialConnections', (c) => c.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'createSocialConnection',
    name: "in the victim's environment",
    document: mutation('createSocialConnection', 'CreateSocialConnectionInput', `socialConnection { ${SOCIAL_CONNECTION} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, provider: 'GOOGLE', clientId: 'intruder', clientSecret: 'intruder-secret' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'updateSocialConnection',
    name: "the victim's social connection (pointing its sign-ins at the intruder's provider)",
    document: mutation('updateSocialConnection', 'UpdateSocialConnectionInput', `socialConnection { ${SOCIAL_CONNECTION} }`),
    variables: (t) => ({ input: { id: t.socialConnectionId, authorizationUrl: 'https://intruder.example/authorize', clientSecret: 'stolen' } }),
    expect: both(notFound('social_connection')),
  },
  {
    operation: 'deleteSocialConnection',
    name: "the victim's social connection",
    document: mutation('deleteSocialConnection', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.socialConnectionId } }),
    expect: both(notFound('social_connection')),
  },
  {
    operation: 'directories',
    name: "with the victim's environmentId",
    document: `query($env: ID) { directories(environmentId: $env, first: 50) { totalCount nodes { ${DIRECTORY} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'directories',
    name: "with the victim's organizationId",
    document: `query($org: ID) { directories(organizationId: $org, first: 50) { totalCount nodes { ${DIRECTORY} } } }`,
    variables: (t) => ({ org: t.orgId }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'directories',
    name: 'without environmentId',
    document: `query { directories(first: 50) { totalCount nodes { ${DIRECTORY} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.directories.nodes.map((d: any) => d.id)).toContain(f.aDev.directoryId);
          checkOwnEnvironment('directories', (d) => d.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'directoryUsers',
    name: "of the victim's directory",
    document: `query($dir: ID!) { directoryUsers(directoryId: $dir, first: 50) { totalCount nodes { id userName resource } } }`,
    variables: (t) => ({ dir: t.directoryId }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'directoryUsers',
    name: "of the intruder's directory, filtered by the victim's group",
    document: `query($dir: ID!, $group: ID) { directoryUsers(directoryId: $dir, groupId: $group, first: 50) { totalCount nodes { id } } }`,
    variables: (t, f) => ({ dir: f.aDev.directoryId, group: t.directoryGroupId }),
    expect: both(notFound('directory_group')),
  },
  {
    operation: 'directoryGroups',
    name: "of the victim's directory",
    document: `query($dir: ID!) { directoryGroups(directoryId: $dir, first: 50) { totalCount nodes { id displayName memberCount members(first: 5) { nodes { id } } } } }`,
    variables: (t) => ({ dir: t.directoryId }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'directoryGroups',
    name: "of the intruder's directory, filtered by the victim's user",
    document: `query($dir: ID!, $member: ID) { directoryGroups(directoryId: $dir, memberId: $member, first: 50) { totalCount nodes { id } } }`,
    variables: (t, f) => ({ dir: f.aDev.directoryId, member: t.directoryUserId }),
    expect: both(notFound('directory_user')),
  },
  {
    operation: 'simulateDirectoryProvisioning',
    name: "into the victim's directory",
    document: mutation('simulateDirectoryProvisioning', 'SimulateDirectoryProvisioningInput', 'simulation { domain steps { status } }'),
    variables: (t) => ({ input: { directoryId: t.directoryId } }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'createDirectory',
    name: "in the victim's organization",
    document: mutation('createDirectory', 'CreateDirectoryInput', `token directory { ${DIRECTORY} }`),
    variables: (t) => ({ input: { organizationId: t.orgId, name: 'Intruder', provider: 'OKTA' } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createDirectory',
    name: "in the intruder's organization, linked to the victim's SSO connection",
    document: mutation('createDirectory', 'CreateDirectoryInput', `token directory { ${DIRECTORY} }`),
    variables: (t, f) => ({ input: { organizationId: f.aDev.orgId, name: 'Intruder', provider: 'OKTA', connectionId: t.ssoConnectionId } }),
    expect: both({ userError: 'directory.connection_not_found' }),
  },
  {
    operation: 'updateDirectory',
    name: "the victim's directory (switching it off)",
    document: mutation('updateDirectory', 'UpdateDirectoryInput', `directory { ${DIRECTORY} }`),
    variables: (t) => ({ input: { id: t.directoryId, status: 'INACTIVE' } }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'rotateDirectoryToken',
    name: "the victim's directory (taking its token)",
    document: mutation('rotateDirectoryToken', 'RotateDirectoryTokenInput', `token directory { ${DIRECTORY} }`),
    variables: (t) => ({ input: { id: t.directoryId } }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'deleteDirectory',
    name: "the victim's directory",
    document: mutation('deleteDirectory', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.directoryId } }),
    expect: both(notFound('directory')),
  },
  {
    operation: 'resourceServers',
    name: "with the victim's environmentId",
    document: `query($env: ID) { resourceServers(environmentId: $env, first: 50) { totalCount nodes { ${RESOURCE_SERVER} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'resourceServers',
    name: 'without environmentId',
    document: `query { resourceServers(first: 50) { totalCount nodes { ${RESOURCE_SERVER} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.resourceServers.nodes.map((r: any) => r.id)).toContain(f.aDev.resourceServerId);
          checkOwnEnvironment('resourceServers', (r) => r.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'developmentOutbox',
    name: "with the victim's environmentId",
    document: `query($env: ID) { developmentOutbox(environmentId: $env, first: 50) { totalCount nodes { id environmentId recipient subject text purpose } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'developmentOutbox',
    name: 'without environmentId',
    document: `query { developmentOutbox(first: 50) { totalCount nodes { id environmentId recipient subject text purpose } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.developmentOutbox.nodes.map((m: any) => m.id)).toContain(f.aDev.outboxMessageId);
          checkOwnEnvironment('developmentOutbox', (m) => m.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'trustedIssuers',
    name: "with the victim's environmentId",
    document: `query($env: ID) { trustedIssuers(environmentId: $env, first: 50) { totalCount nodes { ${TRUSTED_ISSUER} } } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'trustedIssuers',
    name: 'without environmentId',
    document: `query { trustedIssuers(first: 50) { totalCount nodes { ${TRUSTED_ISSUER} } } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.trustedIssuers.nodes.map((i: any) => i.id)).toContain(f.aDev.trustedIssuerId);
          checkOwnEnvironment('trustedIssuers', (i) => i.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'signingKeys',
    name: "with the victim's environmentId",
    document: `query($env: ID) { signingKeys(environmentId: $env) { ${SIGNING_KEY} } }`,
    variables: (t) => ({ env: t.environmentId }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'signingKeys',
    name: 'without environmentId',
    document: `query { signingKeys { ${SIGNING_KEY} } }`,
    expect: {
      ownerA: environmentRequired,
      pinnedA: {
        check: (data, f) => {
          expect(data.signingKeys.map((k: any) => k.id)).toContain(f.aDev.signingKeyId);
          checkOwnEnvironment('signingKeys', (k) => k.environmentId)(data, f);
        },
      },
    },
  },
  {
    operation: 'createServiceAccount',
    name: "in the victim's environment",
    document: mutation('createServiceAccount', 'CreateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, name: 'Intruder bot', allowedScopes: ['steal:all'] } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createServiceAccount',
    name: "in the caller's environment, for the victim's organization",
    document: mutation('createServiceAccount', 'CreateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t, f) => ({ input: { environmentId: f.aDev.environmentId, name: 'Borrower bot', organizationId: t.orgId } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'createServiceAccount',
    name: "in the caller's environment, for the victim's resource server",
    document: mutation('createServiceAccount', 'CreateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t, f) => ({ input: { environmentId: f.aDev.environmentId, name: 'Borrower bot', allowedAudiences: [t.resourceIdentifier] } }),
    expect: both({ userError: 'oauth_client.unknown_audience' }),
  },
  {
    operation: 'createServiceAccount',
    name: "in the caller's environment, with the victim's custom role",
    document: mutation('createServiceAccount', 'CreateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t, f) => ({ input: { environmentId: f.aDev.environmentId, name: 'Borrower bot', roleKeys: [t.roleKey] } }),
    expect: both({ userError: 'role.unknown' }),
  },
  {
    operation: 'createServiceAccount',
    name: 'without environmentId',
    document: mutation('createServiceAccount', 'CreateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: () => ({ input: { name: 'Pinned bot' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createServiceAccount', (payload) => payload.serviceAccount.environmentId) },
    },
  },
  {
    operation: 'updateServiceAccount',
    name: "the victim's service account",
    document: mutation('updateServiceAccount', 'UpdateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t) => ({ input: { id: t.serviceAccountId, name: 'Pwned', enabled: false, allowedScopes: ['steal:all'], jwksUri: 'https://intruder.example/jwks' } }),
    expect: both(notFound('service_account')),
  },
  {
    operation: 'updateServiceAccount',
    name: "moving the caller's service account to the victim's organization",
    document: mutation('updateServiceAccount', 'UpdateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t, f) => ({ input: { id: f.aDev.serviceAccountId, organizationId: t.orgId } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'updateServiceAccount',
    name: "granting the caller's service account the victim's audience",
    document: mutation('updateServiceAccount', 'UpdateServiceAccountInput', `serviceAccount { ${SERVICE_ACCOUNT} }`),
    variables: (t, f) => ({ input: { id: f.aDev.serviceAccountId, allowedAudiences: [t.resourceIdentifier] } }),
    expect: both({ userError: 'oauth_client.unknown_audience' }),
  },
  {
    operation: 'deleteServiceAccount',
    name: "the victim's service account",
    document: mutation('deleteServiceAccount', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.serviceAccountId } }),
    expect: both(notFound('service_account')),
  },
  {
    operation: 'createApplication',
    name: "in the victim's environment",
    document: mutation('createApplication', 'CreateApplicationInput', `application { ${APPLICATION} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, name: 'Intruder app' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createApplication',
    name: 'without environmentId',
    document: mutation('createApplication', 'CreateApplicationInput', `application { ${APPLICATION} }`),
    variables: () => ({ input: { name: 'Pinned app' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createApplication', (payload) => payload.application.environmentId) },
    },
  },
  {
    operation: 'updateApplication',
    name: "the victim's application",
    document: mutation('updateApplication', 'UpdateApplicationInput', `application { ${APPLICATION} }`),
    variables: (t) => ({ input: { id: t.applicationId, enabled: false, name: 'Pwned' } }),
    expect: both(notFound('application')),
  },
  {
    operation: 'deleteApplication',
    name: "the victim's application",
    document: mutation('deleteApplication', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.applicationId } }),
    expect: both(notFound('application')),
  },
  {
    operation: 'createClientSecret',
    name: "for the victim's service account",
    document: mutation('createClientSecret', 'CreateClientSecretInput', 'secret clientSecret { id prefix clientId }'),
    variables: (t) => ({ input: { clientId: t.serviceAccountId } }),
    expect: both(notFound('service_account')),
  },
  {
    operation: 'createClientSecret',
    name: "for the victim's application",
    document: mutation('createClientSecret', 'CreateClientSecretInput', 'secret clientSecret { id prefix clientId }'),
    variables: (t) => ({ input: { clientId: t.applicationId } }),
    expect: both(notFound('application')),
  },
  {
    operation: 'revokeClientSecret',
    name: "the victim's secret",
    document: mutation('revokeClientSecret', 'ClientSecretIdInput', 'clientSecret { id prefix revokedAt }'),
    variables: (t) => ({ input: { id: t.clientSecretId } }),
    expect: both(notFound('client_secret')),
  },
  {
    operation: 'createResourceServer',
    name: "in the victim's environment",
    document: mutation('createResourceServer', 'CreateResourceServerInput', `resourceServer { ${RESOURCE_SERVER} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, name: 'Intruder API', identifier: 'https://intruder.example/api' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createResourceServer',
    name: 'without environmentId',
    document: mutation('createResourceServer', 'CreateResourceServerInput', `resourceServer { ${RESOURCE_SERVER} }`),
    variables: () => ({ input: { name: 'Pinned API', identifier: 'https://pinned.example/api' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createResourceServer', (payload) => payload.resourceServer.environmentId) },
    },
  },
  {
    operation: 'updateResourceServer',
    name: "the victim's resource server",
    document: mutation('updateResourceServer', 'UpdateResourceServerInput', `resourceServer { ${RESOURCE_SERVER} }`),
    variables: (t) => ({ input: { id: t.resourceServerId, name: 'Pwned', scopes: [{ name: 'steal:all' }] } }),
    expect: both(notFound('resource_server')),
  },
  {
    operation: 'deleteResourceServer',
    name: "the victim's resource server (which would strip its clients' audiences)",
    document: mutation('deleteResourceServer', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.resourceServerId } }),
    expect: both(notFound('resource_server')),
  },
  {
    operation: 'sendTestEmail',
    name: "from the victim's environment",
    document: mutation('sendTestEmail', 'SendTestEmailInput', 'delivery { via messageId }'),
    variables: (t) => ({ input: { environmentId: t.environmentId, to: 'intruder@example.com' } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'sendTestEmail',
    name: 'without environmentId',
    document: mutation('sendTestEmail', 'SendTestEmailInput', 'delivery { via messageId }'),
    variables: () => ({ input: { to: 'pinned@example.com' } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: (data) => expect(data.sendTestEmail).toMatchObject({ delivery: { via: 'OUTBOX', messageId: null }, userErrors: [] }) },
    },
  },
  {
    operation: 'createTrustedIssuer',
    name: "in the victim's environment",
    document: mutation('createTrustedIssuer', 'CreateTrustedIssuerInput', `trustedIssuer { ${TRUSTED_ISSUER} }`),
    variables: (t) => ({
      input: { environmentId: t.environmentId, name: 'Intruder IdP', issuer: 'https://intruder.example', jwksUri: 'https://intruder.example/jwks', audiences: ['x'] },
    }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'createTrustedIssuer',
    name: 'without environmentId',
    document: mutation('createTrustedIssuer', 'CreateTrustedIssuerInput', `trustedIssuer { ${TRUSTED_ISSUER} }`),
    variables: () => ({ input: { name: 'Pinned IdP', issuer: 'https://pinned.example', jwksUri: 'https://pinned.example/jwks', audiences: ['x'] } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: checkOwnEnvironment('createTrustedIssuer', (payload) => payload.trustedIssuer.environmentId) },
    },
  },
  {
    operation: 'updateTrustedIssuer',
    name: "the victim's trusted issuer",
    document: mutation('updateTrustedIssuer', 'UpdateTrustedIssuerInput', `trustedIssuer { ${TRUSTED_ISSUER} }`),
    variables: (t) => ({ input: { id: t.trustedIssuerId, jwksUri: 'https://intruder.example/jwks', audiences: ['x'] } }),
    expect: both(notFound('trusted_issuer')),
  },
  {
    operation: 'deleteTrustedIssuer',
    name: "the victim's trusted issuer",
    document: mutation('deleteTrustedIssuer', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.trustedIssuerId } }),
    expect: both(notFound('trusted_issuer')),
  },
  {
    operation: 'rotateSigningKey',
    name: "in the victim's environment",
    document: mutation('rotateSigningKey', 'RotateSigningKeyInput', `signingKey { ${SIGNING_KEY} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, activateAfterSeconds: 0 } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'rotateSigningKey',
    name: 'without environmentId',
    document: mutation('rotateSigningKey', 'RotateSigningKeyInput', `signingKey { ${SIGNING_KEY} }`),
    variables: () => ({ input: {} }),
    // The pinned key's own environment already has a key waiting to activate (seeded).
    expect: { ownerA: { userError: 'environment.required' }, pinnedA: { userError: 'signing_key.rotation_pending' } },
  },
  {
    operation: 'revokeSigningKey',
    name: "the victim's signing key",
    document: mutation('revokeSigningKey', 'SigningKeyIdInput', `signingKey { ${SIGNING_KEY} }`),
    variables: (t) => ({ input: { id: t.signingKeyId } }),
    expect: both(notFound('signing_key')),
  },
  {
    operation: 'updateClientRegistrationPolicy',
    name: "of the victim's environment",
    document: mutation('updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', `initialAccessToken environment { ${ENVIRONMENT} }`),
    variables: (t) => ({ input: { environmentId: t.environmentId, policy: 'INITIAL_ACCESS_TOKEN', issueInitialAccessToken: true, registrationScopes: ['steal:all'] } }),
    expect: both(notFound('environment')),
  },
  {
    operation: 'updateClientRegistrationPolicy',
    name: 'without environmentId',
    document: mutation('updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', `initialAccessToken environment { ${ENVIRONMENT} }`),
    variables: () => ({ input: { registrationScopes: ['pinned:read'] } }),
    expect: {
      ownerA: { userError: 'environment.required' },
      pinnedA: { check: (data, f) => expect(data.updateClientRegistrationPolicy.environment.id).toBe(f.aDev.environmentId) },
    },
  },
  {
    operation: 'deleteOrganization',
    name: "the victim's organization",
    document: mutation('deleteOrganization', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.orgId } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'deletePermission',
    name: "the victim's permission",
    document: mutation('deletePermission', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.permissionId } }),
    expect: both(notFound('permission')),
  },
  {
    operation: 'deleteRole',
    name: "the victim's custom role",
    document: mutation('deleteRole', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.roleId } }),
    expect: both(notFound('role')),
  },
  {
    operation: 'deleteUser',
    name: "the victim's user",
    document: mutation('deleteUser', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.userId } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'reactivateUser',
    name: "the victim's suspended user",
    document: mutation('reactivateUser', 'UserIdInput', `user { ${USER} }`),
    variables: (t) => ({ input: { id: t.suspendedUserId } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'removeMembershipRoles',
    name: "on the victim's membership",
    document: mutation('removeMembershipRoles', 'MembershipRolesInput', `membership { ${MEMBERSHIP} }`),
    variables: (t) => ({ input: { membershipId: t.membershipId, roleKeys: ['admin'] } }),
    expect: both(notFound('membership')),
  },
  {
    operation: 'verifyOrganizationDomain',
    name: "the victim's domain",
    document: mutation('verifyOrganizationDomain', 'VerifyOrganizationDomainInput', `domain { ${DOMAIN} }`),
    variables: (t) => ({ input: { id: t.domainId } }),
    expect: both(notFound('organization_domain')),
  },
  {
    operation: 'updateOrganizationDomain',
    name: "the victim's domain",
    document: mutation('updateOrganizationDomain', 'UpdateOrganizationDomainInput', `domain { ${DOMAIN} }`),
    variables: (t) => ({ input: { id: t.domainId, state: 'VERIFIED' } }),
    expect: both(notFound('organization_domain')),
  },
  {
    operation: 'removeOrganizationDomain',
    name: "the victim's domain",
    document: mutation('removeOrganizationDomain', 'DeleteInput', `domain { ${DOMAIN} }`),
    variables: (t) => ({ input: { id: t.domainId } }),
    expect: both(notFound('organization_domain')),
  },
  {
    operation: 'revokeApiKey',
    name: "the victim's environment key",
    document: mutation('revokeApiKey', 'RevokeApiKeyInput', `apiKey { ${API_KEY} revokedAt }`),
    variables: (t) => ({ input: { id: t.apiKeyId } }),
    expect: both(notFound('api_key')),
  },
  {
    operation: 'revokeApiKey',
    name: "the victim workspace's owner key",
    document: mutation('revokeApiKey', 'RevokeApiKeyInput', `apiKey { ${API_KEY} revokedAt }`),
    variables: (t) => ({ input: { id: t.ownerKeyId } }),
    expect: both(notFound('api_key')),
  },
  {
    operation: 'setMembershipRoles',
    name: "on the victim's membership",
    document: mutation('setMembershipRoles', 'MembershipRolesInput', `membership { ${MEMBERSHIP} }`),
    variables: (t) => ({ input: { membershipId: t.membershipId, roleKeys: [] } }),
    expect: both(notFound('membership')),
  },
  {
    operation: 'revokeConsent',
    name: "the victim's consent",
    document: mutation('revokeConsent', 'DeleteInput', 'deletedId'),
    variables: (t) => ({ input: { id: t.consentId } }),
    expect: both(notFound('consent')),
  },
  {
    operation: 'revokeSession',
    name: "the victim's session",
    document: mutation('revokeSession', 'RevokeSessionInput', `session { ${SESSION} }`),
    variables: (t) => ({ input: { id: t.sessionId } }),
    expect: both(notFound('session')),
  },
  {
    operation: 'revokeUserSessions',
    name: "of the victim's user",
    document: mutation('revokeUserSessions', 'RevokeUserSessionsInput', 'revokedSessionIds user { id email }'),
    variables: (t) => ({ input: { userId: t.userId } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'suspendUser',
    name: "the victim's user",
    document: mutation('suspendUser', 'UserIdInput', `user { ${USER} }`),
    variables: (t) => ({ input: { id: t.userId } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'updateCustomAttributeDefinition',
    name: "the victim's definition",
    document: mutation('updateCustomAttributeDefinition', 'UpdateCustomAttributeDefinitionInput', `customAttributeDefinition { ${ATTRIBUTE} }`),
    variables: (t) => ({ input: { id: t.attributeId, required: true, description: 'pwned' } }),
    expect: both(notFound('custom_attribute')),
  },
  {
    operation: 'updateEnvironment',
    name: "the victim's environment",
    document: mutation('updateEnvironment', 'UpdateEnvironmentInput', `environment { ${ENVIRONMENT} }`),
    variables: (t) => ({ input: { id: t.environmentId, name: 'Pwned' } }),
    expect: { ownerA: notFound('environment'), pinnedA: forbidden('environment.workspace_key_required') },
  },
  {
    operation: 'updateMembership',
    name: "the victim's membership",
    document: mutation('updateMembership', 'UpdateMembershipInput', `membership { ${MEMBERSHIP} }`),
    variables: (t) => ({ input: { id: t.membershipId, status: 'INACTIVE' } }),
    expect: both(notFound('membership')),
  },
  {
    operation: 'updateOrganization',
    name: "the victim's organization",
    document: mutation('updateOrganization', 'UpdateOrganizationInput', `organization { ${ORG} }`),
    variables: (t) => ({ input: { id: t.orgId, name: 'Pwned', externalId: null, metadata: { pwned: true } } }),
    expect: both(notFound('organization')),
  },
  {
    operation: 'updatePermission',
    name: "the victim's permission",
    document: mutation('updatePermission', 'UpdatePermissionInput', `permission { ${PERMISSION} }`),
    variables: (t) => ({ input: { id: t.permissionId, description: 'pwned' } }),
    expect: both(notFound('permission')),
  },
  {
    operation: 'updateRole',
    name: "the victim's custom role",
    document: mutation('updateRole', 'UpdateRoleInput', `role { ${ROLE} }`),
    variables: (t) => ({ input: { id: t.roleId, name: 'Pwned', permissionKeys: [] } }),
    expect: both(notFound('role')),
  },
  {
    operation: 'updateRole',
    name: "the victim's built-in admin role",
    document: mutation('updateRole', 'UpdateRoleInput', `role { ${ROLE} }`),
    variables: (t) => ({ input: { id: t.adminRoleId, name: 'Pwned' } }),
    expect: both(notFound('role')),
  },
  {
    operation: 'updateRole',
    name: "granting the victim's permission to the caller's role",
    document: mutation('updateRole', 'UpdateRoleInput', `role { ${ROLE} }`),
    variables: (t, f) => ({ input: { id: f.aDev.roleId, permissionKeys: [t.permissionKey] } }),
    expect: both({ userError: 'role.unknown_permission' }),
  },
  {
    operation: 'updateUser',
    name: "the victim's user",
    document: mutation('updateUser', 'UpdateUserInput', `user { ${USER} }`),
    variables: (t) => ({ input: { id: t.userId, givenName: 'Pwned', email: 'pwned@intruder.example' } }),
    expect: both(notFound('user')),
  },
  {
    operation: 'updateWorkspace',
    name: "renames only the caller's workspace",
    document: mutation('updateWorkspace', 'UpdateWorkspaceInput', 'workspace { id name slug }'),
    variables: () => ({ input: { name: 'Alpha Workspace renamed' } }),
    expect: {
      ownerA: {
        check: (data, f) => expect(data.updateWorkspace.workspace).toMatchObject({ id: f.A.workspace.id, name: 'Alpha Workspace renamed' }),
      },
      // Workspace settings belong to the whole workspace: a key pinned to one environment may not change them.
      pinnedA: forbidden('workspace.workspace_key_required'),
    },
  },
];

/** Objects `node(id:)` can fetch, per id kind, as seen from each attacker. */
const NODE_TARGETS: { kind: IdKind; label: string; id: (t: Target) => string; attackers: Attacker[]; resource: string }[] = [
  { kind: 'workspace', label: 'the victim workspace', id: (t) => t.workspaceId, attackers: ['ownerA'], resource: 'workspace' },
  { kind: 'environment', label: "the victim's environment", id: (t) => t.environmentId, attackers: ATTACKERS, resource: 'environment' },
  { kind: 'apiKey', label: "the victim's environment key", id: (t) => t.apiKeyId, attackers: ATTACKERS, resource: 'api_key' },
  { kind: 'apiKey', label: "the victim workspace's owner key", id: (t) => t.ownerKeyId, attackers: ATTACKERS, resource: 'api_key' },
  { kind: 'organization', label: "the victim's organization", id: (t) => t.orgId, attackers: ATTACKERS, resource: 'organization' },
  { kind: 'domain', label: "the victim's domain", id: (t) => t.domainId, attackers: ATTACKERS, resource: 'organization_domain' },
  { kind: 'user', label: "the victim's user", id: (t) => t.userId, attackers: ATTACKERS, resource: 'user' },
  { kind: 'membership', label: "the victim's membership", id: (t) => t.membershipId, attackers: ATTACKERS, resource: 'membership' },
  { kind: 'role', label: "the victim's custom role", id: (t) => t.roleId, attackers: ATTACKERS, resource: 'role' },
  { kind: 'role', label: "the victim's admin role", id: (t) => t.adminRoleId, attackers: ATTACKERS, resource: 'role' },
  { kind: 'permission', label: "the victim's permission", id: (t) => t.permissionId, attackers: ATTACKERS, resource: 'permission' },
  { kind: 'customAttribute', label: "the victim's custom attribute", id: (t) => t.attributeId, attackers: ATTACKERS, resource: 'custom_attribute' },
  { kind: 'webhookEndpoint', label: "the victim's webhook endpoint", id: (t) => t.webhookEndpointId, attackers: ATTACKERS, resource: 'webhook_endpoint' },
  { kind: 'webhookDelivery', label: "the victim's webhook delivery", id: (t) => t.webhookDeliveryId, attackers: ATTACKERS, resource: 'webhook_delivery' },
  { kind: 'serviceAccount', label: "the victim's service account", id: (t) => t.serviceAccountId, attackers: ATTACKERS, resource: 'service_account' },
  { kind: 'application', label: "the victim's application", id: (t) => t.applicationId, attackers: ATTACKERS, resource: 'application' },
  { kind: 'clientSecret', label: "the victim's client secret", id: (t) => t.clientSecretId, attackers: ATTACKERS, resource: 'client_secret' },
  { kind: 'resourceServer', label: "the victim's resource server", id: (t) => t.resourceServerId, attackers: ATTACKERS, resource: 'resource_server' },
  { kind: 'trustedIssuer', label: "the victim's trusted issuer", id: (t) => t.trustedIssuerId, attackers: ATTACKERS, resource: 'trusted_issuer' },
  { kind: 'signingKey', label: "the victim's signing key", id: (t) => t.signingKeyId, attackers: ATTACKERS, resource: 'signing_key' },
  { kind: 'outboxMessage', label: "the victim's outbox message", id: (t) => t.outboxMessageId, attackers: ATTACKERS, resource: 'outbox_message' },
  { kind: 'session', label: "the victim's user's session", id: (t) => t.sessionId, attackers: ATTACKERS, resource: 'session' },
  { kind: 'consent', label: "the victim's user's consent", id: (t) => t.consentId, attackers: ATTACKERS, resource: 'consent' },
  { kind: 'ssoConnection', label: "the victim's SSO connection", id: (t) => t.ssoConnectionId, attackers: ATTACKERS, resource: 'sso_connection' },
  { kind: 'spKey', label: "an SP key of the victim's SAML connection", id: (t) => t.spKeyId, attackers: ATTACKERS, resource: 'sso_sp_key' },
  { kind: 'socialConnection', label: "the victim's social connection", id: (t) => t.socialConnectionId, attackers: ATTACKERS, resource: 'social_connection' },
  { kind: 'directory', label: "the victim's SCIM directory", id: (t) => t.directoryId, attackers: ATTACKERS, resource: 'directory' },
  { kind: 'directoryUser', label: "a User the victim's directory provisioned", id: (t) => t.directoryUserId, attackers: ATTACKERS, resource: 'directory_user' },
  { kind: 'directoryGroup', label: "a Group the victim's directory provisioned", id: (t) => t.directoryGroupId, attackers: ATTACKERS, resource: 'directory_group' },
  { kind: 'ssoTrace', label: "a sign-in trace of the victim's SSO connection", id: (t) => t.ssoTraceId, attackers: ATTACKERS, resource: 'sso_trace' },
  { kind: 'auditEvent', label: "an audit event of the victim's environment", id: (t) => t.auditEventIds[0], attackers: ATTACKERS, resource: 'audit_event' },
  { kind: 'auditEvent', label: "a workspace-level audit event of the victim's workspace", id: (t) => t.workspaceEventId, attackers: ATTACKERS, resource: 'audit_event' },
];

const NODE_ROWS: Row[] = NODE_TARGETS.map((target) => ({
  operation: 'node',
  name: `${target.label} (${ID_PREFIXES[target.kind]}_…)`,
  document: `query($id: ID!) { node(id: $id) { ${NODE} } }`,
  variables: (t: Target) => ({ id: target.id(t) }),
  expect: Object.fromEntries(target.attackers.map((attacker) => [attacker, notFound(target.resource)])),
}));

const CASES: Case[] = [...ROWS, ...NODE_ROWS].flatMap((row) =>
  ATTACKERS.filter((attacker) => row.expect[attacker]).map((attacker) => ({ ...row, attacker, expectation: row.expect[attacker]! })),
);

// ─────────────────────────────── fixture ───────────────────────────────

async function mutate(client: GraphQLClient, operation: string, inputType: string, selection: string, input: object) {
  const data = await client.data(mutation(operation, inputType, selection), { input });
  expect(data[operation].userErrors, `${operation} ${JSON.stringify(input)}`).toEqual([]);
  return data[operation];
}

/** Creates one of everything in an environment, every value marked with `tag`. */
async function seed(client: GraphQLClient, environmentId: string, tag: string): Promise<EnvData> {
  const Tag = tag[0].toUpperCase() + tag.slice(1);
  const permissionKey = `${tag}-invoices:read`;
  const permission = await mutate(client, 'createPermission', 'CreatePermissionInput', 'permission { id }', {
    environmentId,
    key: permissionKey,
    description: `${Tag} permission`,
  });
  const roleKey = `${tag}-auditor`;
  const role = await mutate(client, 'createRole', 'CreateRoleInput', 'role { id }', {
    environmentId,
    key: roleKey,
    name: `${Tag} Auditor`,
    description: `${Tag} role`,
    permissionKeys: [permissionKey],
  });
  const attributeKey = `${tag}_department`;
  const attribute = await mutate(client, 'createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', 'customAttributeDefinition { id }', {
    environmentId,
    key: attributeKey,
    type: 'STRING',
    description: `${Tag} department`,
  });
  // Created early, so the changes below queue deliveries to it (no worker runs in this file).
  const webhookUrl = `https://${tag}-hooks.example/in`;
  const webhook = await mutate(client, 'createWebhookEndpoint', 'CreateWebhookEndpointInput', 'webhookEndpoint { id }', {
    environmentId,
    url: webhookUrl,
    description: `${Tag} hook`,
  });
  const domain = `${tag}-corp.example`;
  const org = await mutate(client, 'createOrganization', 'CreateOrganizationInput', 'organization { id domains { id verificationToken } }', {
    environmentId,
    name: `${Tag} Industries`,
    externalId: `${tag}-org-ext`,
    metadata: { tier: `${tag}-gold` },
    domains: [{ domain }],
  });
  const attributeValue = `${tag}-sales`;
  const user = await mutate(client, 'createUser', 'CreateUserInput', 'user { id }', {
    environmentId,
    email: `jane@${domain}`,
    givenName: `${Tag}Jane`,
    externalId: `${tag}-user-ext`,
    customAttributes: { [attributeKey]: attributeValue },
  });
  const suspended = await mutate(client, 'createUser', 'CreateUserInput', 'user { id }', {
    environmentId,
    email: `sam@${domain}`,
    givenName: `${Tag}Sam`,
  });
  await mutate(client, 'suspendUser', 'UserIdInput', 'user { status }', { id: suspended.user.id });
  const membership = await mutate(client, 'createMembership', 'CreateMembershipInput', 'membership { id }', {
    organizationId: org.organization.id,
    userId: user.user.id,
    roleKeys: ['admin', roleKey],
  });
  const resourceIdentifier = `https://${tag}-api.example/v1`;
  const resourceServer = await mutate(client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', {
    environmentId,
    name: `${Tag} API`,
    identifier: resourceIdentifier,
    scopes: [{ name: `${tag}:read`, description: `${Tag} reads` }],
  });
  const serviceAccount = await mutate(client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { id }', {
    environmentId,
    organizationId: org.organization.id,
    name: `${Tag} sync bot`,
    allowedScopes: [`${tag}:read`],
    allowedAudiences: [resourceIdentifier],
    customClaims: { tenant: `${tag}-claim` },
    roleKeys: [roleKey],
  });
  const application = await mutate(client, 'createApplication', 'CreateApplicationInput', 'application { id }', {
    environmentId,
    name: `${Tag} partner app`,
    allowedAudiences: [resourceIdentifier],
  });
  const clientSecret = await mutate(client, 'createClientSecret', 'CreateClientSecretInput', 'clientSecret { id prefix }', {
    clientId: serviceAccount.serviceAccount.id,
    description: `${Tag} secret`,
  });
  const trustedIssuerUrl = `https://${tag}-idp.example`;
  const ssoClientId = `${tag}-sso-client`;
  const ssoConnection = await mutate(client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
    organizationId: org.organization.id,
    name: `${Tag} Entra`,
    issuer: `https://login.${tag}.example/v2.0`,
    clientId: ssoClientId,
    clientSecret: `${tag}-sso-secret`,
  });
  const socialClientId = `${tag}-social-client`;
  const socialConnection = await mutate(client, 'createSocialConnection', 'CreateSocialConnectionInput', 'socialConnection { id }', {
    environmentId,
    provider: 'GITHUB',
    name: `${Tag} GitHub`,
    clientId: socialClientId,
    clientSecret: `${tag}-social-secret`,
  });
  const directory = await mutate(client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', {
    organizationId: org.organization.id,
    name: `${Tag} Okta`,
    provider: 'OKTA',
    connectionId: ssoConnection.ssoConnection.id,
  });
  // What the directory's IdP provisioned: a User, and a Group with it as member.
  const provision = async (path: string, body: unknown) => {
    const response = await fetch(`${directory.directory.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${directory.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string };
  };
  const directoryUser = await provision('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `scim@${tag}.example` });
  const directoryGroup = await provision('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `${Tag} engineers`, members: [{ value: directoryUser.id }] });
  const trustedIssuer = await mutate(client, 'createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { id }', {
    environmentId,
    name: `${Tag} IdP`,
    issuer: trustedIssuerUrl,
    jwksUri: `${trustedIssuerUrl}/jwks`,
    audiences: [`${tag}-audience`],
  });
  // A key waiting to activate: NEXT, published but not signing.
  const signingKey = await mutate(client, 'rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { id kid state }', {
    environmentId,
    activateAfterSeconds: 3600,
  });
  expect(signingKey.signingKey.state).toBe('NEXT');
  const apiKeyName = `${Tag} environment key`;
  const key = await mutate(client, 'createApiKey', 'CreateApiKeyInput', 'secret apiKey { id prefix }', {
    name: apiKeyName,
    environmentId,
    scopes: ['organizations:read'],
  });
  // Kept as a development environment's outbox keeps a message; written directly, because a
  // PRODUCTION environment without SMTP sends nothing.
  const outboxMessage = await keepInOutbox(systemFork(server.database.db.orm, 'test: seeds an outbox message'), environmentId, {
    to: `${tag}@example.com`,
    subject: `${Tag} sign-in code`,
    text: `${Tag} code 123456`,
    purpose: 'test',
  });
  // A session and a consent as the hosted sign-in pages would leave them; written directly.
  const signIn = systemFork(server.database.db.orm, 'test: seeds a session and a consent');
  const { session } = startSession(
    signIn,
    { environmentId, userId: user.user.id, amr: ['otp'], ip: '198.51.100.23', userAgent: `${Tag} Browser/1.0` },
    { idleTtl: 86_400, absoluteTtl: 7 * 86_400 },
  );
  noteApplication(session, application.application.id, org.organization.id);
  const consent = new ConsentRepository(signIn).create({
    id: newId('consent'),
    environmentId,
    userId: user.user.id,
    clientId: application.application.id,
    scopes: ['openid', `${tag}:read`],
    resources: [resourceIdentifier],
  });
  const samlConnection = await mutate(client, 'createSamlConnection', 'CreateSamlConnectionInput', 'ssoConnection { id }', { organizationId: org.organization.id, name: `${Tag} Okta` });
  const spKey = await mutate(client, 'createSsoSpKey', 'CreateSsoSpKeyInput', 'spKey { id }', { connectionId: samlConnection.ssoConnection.id, use: 'SIGNING' });
  // A sign-in trace as the SSO pages leave one.
  const ssoTraceEmail = `traced-${tag}@${domain}`;
  const connectionRow = await signIn.findOneOrFail(SsoConnection, { id: ssoConnection.ssoConnection.id });
  const trace = openTrace(signIn, connectionRow, { requestId: `req-${tag}`, retentionMs: 86_400_000 });
  succeedTrace(trace, `req-${tag}`, { userId: user.user.id, email: ssoTraceEmail });
  await signIn.flush();
  const lookups = await client.data(
    `query($env: ID, $hook: ID!) { role(key: "admin", environmentId: $env) { id } auditEvents(environmentId: $env, first: 100) { pageInfo { hasNextPage } nodes { id } }
      webhookDeliveries(endpointId: $hook, first: 1) { nodes { id } } }`,
    { env: environmentId, hook: webhook.webhookEndpoint.id },
  );
  expect(lookups.auditEvents.pageInfo.hasNextPage).toBe(false);
  return {
    tag,
    environmentId,
    orgId: org.organization.id,
    orgName: `${Tag} Industries`,
    orgExternalId: `${tag}-org-ext`,
    domainId: org.organization.domains[0].id,
    domain,
    verificationToken: org.organization.domains[0].verificationToken,
    userId: user.user.id,
    userEmail: `jane@${domain}`,
    suspendedUserId: suspended.user.id,
    membershipId: membership.membership.id,
    roleId: role.role.id,
    roleKey,
    adminRoleId: lookups.role.id,
    permissionId: permission.permission.id,
    permissionKey,
    attributeId: attribute.customAttributeDefinition.id,
    attributeKey,
    attributeValue,
    apiKeyId: key.apiKey.id,
    apiKeyPrefix: key.apiKey.prefix,
    apiKeyName,
    webhookEndpointId: webhook.webhookEndpoint.id,
    webhookUrl,
    webhookDeliveryId: lookups.webhookDeliveries.nodes[0].id,
    resourceServerId: resourceServer.resourceServer.id,
    resourceIdentifier,
    serviceAccountId: serviceAccount.serviceAccount.id,
    applicationId: application.application.id,
    clientSecretId: clientSecret.clientSecret.id,
    clientSecretPrefix: clientSecret.clientSecret.prefix,
    trustedIssuerId: trustedIssuer.trustedIssuer.id,
    trustedIssuerUrl,
    signingKeyId: signingKey.signingKey.id,
    signingKid: signingKey.signingKey.kid,
    outboxMessageId: outboxMessage.id,
    sessionId: session.id,
    consentId: consent.id,
    ssoConnectionId: ssoConnection.ssoConnection.id,
    ssoClientId,
    ssoTraceId: trace.id,
    ssoTraceEmail,
    socialConnectionId: socialConnection.socialConnection.id,
    socialClientId,
    directoryId: directory.directory.id,
    directoryUserId: directoryUser.id,
    directoryGroupId: directoryGroup.id,
    samlConnectionId: samlConnection.ssoConnection.id,
    spKeyId: spKey.spKey.id,
    auditEventIds: lookups.auditEvents.nodes.map((event: { id: string }) => event.id),
  };
}

/**
 * Everything of the victim, read with a key that legitimately reaches it. `lastUsedAt` is left
 * out: reading the snapshot itself uses the victim's key.
 */
async function snapshot(victim: Pick<Victim, 'client' | 'target' | 'workspaceWide'>) {
  const env = victim.target.environmentId;
  // One request per list: together they would cost more than one operation may.
  const parts = [
    `organizations(environmentId: $env, first: 10) { totalCount nodes { id name externalId metadata updatedAt
        domains { id domain state verificationToken verifiedAt }
        memberships(first: 20) { totalCount nodes { id status userId updatedAt roles { key } } } } }`,
    `users(environmentId: $env, first: 50) { totalCount nodes { id email emailVerified givenName familyName externalId status customAttributes updatedAt } }`,
    `roles(environmentId: $env, first: 50) { totalCount nodes { id key name description builtIn updatedAt permissions { key } } }`,
    `permissions(environmentId: $env, first: 50) { totalCount nodes { id key description } }`,
    `customAttributeDefinitions(environmentId: $env) { id key type required description }
      environment(id: $env) { id name slug kind updatedAt issuer clientRegistrationPolicy registrationScopes }`,
    `serviceAccounts(environmentId: $env, first: 50) { totalCount nodes { id name description enabled organizationId allowedScopes allowedAudiences
        grantTypes accessTokenTtl customClaims jwks jwksUri updatedAt roles { key } clientSecrets { id prefix description expiresAt revokedAt } } }`,
    `applications(environmentId: $env, first: 50) { totalCount nodes { id name type enabled allowedScopes allowedAudiences grantTypes jwks jwksUri updatedAt
        roles { key } clientSecrets { id prefix revokedAt } } }`,
    `resourceServers(environmentId: $env, first: 50) { totalCount nodes { id name identifier scopes { name description } documentationUrl updatedAt } }
      trustedIssuers(environmentId: $env, first: 50) { totalCount nodes { id name issuer jwks jwksUri audiences updatedAt } }
      signingKeys(environmentId: $env) { id kid algorithm state activatesAt supersededAt revokedAt }`,
    `sessions(environmentId: $env, first: 50, filter: { activeOnly: false }) { totalCount nodes { id active endedAt endReason lastSeenAt expiresAt applicationIds organizationIds } }
      consents(environmentId: $env, first: 50) { totalCount nodes { id scopes resources updatedAt } }`,
    `ssoConnections(environmentId: $env, first: 50) { totalCount nodes { id name status updatedAt
        saml { idpEntityId idpSsoUrl idpCertificates { fingerprint } } oidc { issuer clientId hasClientSecret scopes } } }
      socialConnections(environmentId: $env, first: 50) { totalCount nodes { id name enabled clientId scopes issuer authorizationUrl tokenUrl userinfoUrl updatedAt } }
      directories(environmentId: $env, first: 50) { totalCount nodes { id name status tokenPrefix previousTokenExpiresAt groupRoleMappings { group roleKeys } connectionId updatedAt } }`,
    `environmentAudit: auditEvents(environmentId: $env, first: 100) { totalCount nodes { id } }
      apiKeys(first: 100) { totalCount nodes { id name prefix environmentId scopes expiresAt revokedAt } }
      viewer { workspaceId }`,
  ];
  const data: Record<string, any> = {};
  for (const part of parts) Object.assign(data, await victim.client.data(`query($env: ID!) { ${part} }`, { env }));
  delete data.viewer;
  if (!victim.workspaceWide) {
    // Only the victim environment's keys and the workspace-wide keys, which no pinned key may touch.
    data.apiKeys = data.apiKeys.nodes.filter((key: any) => key.environmentId === env || key.environmentId === null);
    return data;
  }
  const workspace = await victim.client.data(`query {
    workspace { id name slug updatedAt }
    environments(first: 20) { totalCount nodes { id name slug kind updatedAt } }
    auditEvents(first: 100) { totalCount pageInfo { hasNextPage } nodes { id } }
  }`);
  return { ...data, ...workspace };
}

function sentinelsOf(target: Target, workspaceWide: boolean, extra: string[]): string[] {
  const values = [
    target.tag,
    target.environmentId,
    target.orgId,
    target.domainId,
    target.domain,
    target.verificationToken,
    target.userId,
    target.userEmail,
    target.suspendedUserId,
    target.membershipId,
    target.roleId,
    target.adminRoleId,
    target.permissionId,
    target.permissionKey,
    target.attributeId,
    target.attributeKey,
    target.attributeValue,
    target.apiKeyId,
    target.apiKeyPrefix,
    target.apiKeyName,
    target.resourceServerId,
    target.resourceIdentifier,
    target.serviceAccountId,
    target.applicationId,
    target.clientSecretId,
    target.clientSecretPrefix,
    target.trustedIssuerId,
    target.trustedIssuerUrl,
    target.signingKeyId,
    target.signingKid,
    target.outboxMessageId,
    target.sessionId,
    target.consentId,
    target.ssoConnectionId,
    target.ssoClientId,
    target.ssoTraceId,
    target.ssoTraceEmail,
    target.socialConnectionId,
    target.socialClientId,
    target.samlConnectionId,
    target.spKeyId,
    ...target.auditEventIds,
    ...extra,
  ];
  if (workspaceWide) values.push(target.workspaceId, target.ownerKeyId, target.workspaceEventId);
  return values;
}

function leaks(response: GraphQLResponse, request: string, sentinels: string[]): string[] {
  const body = JSON.stringify({ data: response.data, errors: response.errors }).toLowerCase();
  const sent = request.toLowerCase();
  return sentinels.filter((value) => !sent.includes(value.toLowerCase()) && body.includes(value.toLowerCase()));
}

let server: TestServer;
let f: Fixture;

beforeAll(async () => {
  server = await startServer();
  const A = await server.workspace('Alpha Workspace');
  const B = await server.workspace('Bravo Workspace');
  const ownerA = A.client;
  const ownerB = B.client;
  const pinned = await mutate(ownerA, 'createApiKey', 'CreateApiKeyInput', 'secret apiKey { id environmentId }', {
    name: 'Alpha dev pinned key',
    environmentId: A.development.id,
    scopes: ['*'],
  });
  expect(pinned.apiKey.environmentId).toBe(A.development.id);
  const pinnedA = ownerA.withKey(pinned.secret);

  const aDev = await seed(ownerA, A.development.id, 'alphadev');
  const aProd = await seed(ownerA, A.production.id, 'alphaprod');
  const bDev = await seed(ownerB, B.development.id, 'bravo');

  const facts = async (client: GraphQLClient) =>
    client.data(`query { viewer { apiKey { id prefix } } auditEvents(first: 100, filter: { actions: ["workspace.created"] }) { nodes { id } } }`);
  const factsA = await facts(ownerA);
  const factsB = await facts(ownerB);
  const bAll = await ownerB.data(`query { auditEvents(first: 100) { pageInfo { hasNextPage } nodes { id } } }`);
  expect(bAll.auditEvents.pageInfo.hasNextPage).toBe(false);

  const bTarget: Target = {
    ...bDev,
    workspaceId: B.workspace.id,
    ownerKeyId: factsB.viewer.apiKey.id,
    workspaceEventId: factsB.auditEvents.nodes[0].id,
  };
  const aProdTarget: Target = {
    ...aProd,
    workspaceId: A.workspace.id,
    ownerKeyId: factsA.viewer.apiKey.id,
    workspaceEventId: factsA.auditEvents.nodes[0].id,
  };
  const victims: Record<Attacker, Victim> = {
    ownerA: {
      label: "workspace B's development environment",
      client: ownerB,
      target: bTarget,
      workspaceWide: true,
      sentinels: sentinelsOf(bTarget, true, [
        B.production.id,
        B.workspace.slug,
        'Bravo Workspace',
        factsB.viewer.apiKey.prefix,
        ...bAll.auditEvents.nodes.map((event: { id: string }) => event.id),
      ]),
      baseline: null,
    },
    pinnedA: {
      label: "workspace A's production environment",
      client: ownerA,
      target: aProdTarget,
      workspaceWide: false,
      sentinels: sentinelsOf(aProdTarget, false, []),
      baseline: null,
    },
  };
  for (const victim of Object.values(victims)) victim.baseline = await snapshot(victim);
  f = { server, A, B, ownerA, pinnedA, ownerKeyIdA: factsA.viewer.apiKey.id, pinnedKeyId: pinned.apiKey.id, aDev, victims };
});

afterAll(() => server?.close());

// ─────────────────────────────── tests ───────────────────────────────

describe('the isolation table', () => {
  it('has a row for every query, mutation and subscription of schema.graphql, for both attackers', () => {
    const sdl = readFileSync(fileURLToPath(new URL('../../schema.graphql', import.meta.url)), 'utf8');
    const schema = buildSchema(sdl);
    const operations = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      type ? Object.keys(type.getFields()) : [],
    );
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.flatMap((operation) =>
      ATTACKERS.filter((attacker) => !CASES.some((c) => c.operation === operation && c.attacker === attacker)).map(
        (attacker) => `${operation} [${attacker}]`,
      ),
    );
    expect(missing, 'operations without an isolation row').toEqual([]);
    expect(CASES.filter((c) => !operations.includes(c.operation)).map((c) => c.operation)).toEqual([]);

    // Each row really calls the operation it claims to cover.
    for (const c of CASES) {
      const operation = parse(c.document).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
      const fields = operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
      expect(fields, `${c.operation}: ${c.name}`).toContain(c.operation);
    }
  });

  it('tries node(id:) on every kind of id', () => {
    const kinds = new Set(NODE_TARGETS.map((target) => target.kind));
    expect([...kinds].sort()).toEqual(Object.keys(ID_PREFIXES).sort());
  });

  it("lets each victim's own key read every object the attackers aim at (positive control)", async () => {
    for (const attacker of ATTACKERS) {
      const victim = f.victims[attacker];
      const ids = NODE_TARGETS.filter((n) => n.attackers.includes(attacker)).map((n) => n.id(victim.target));
      const data = await victim.client.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
      expect(data.nodes.map((node: { id: string }) => node.id)).toEqual(ids);
    }
    // The pinned key reaches its own environment's objects.
    const own = await f.pinnedA.data(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids: [f.aDev.orgId, f.aDev.userId, f.aDev.membershipId, f.aDev.roleId, f.aDev.permissionId, f.aDev.attributeId, f.aDev.domainId],
    });
    expect(own.nodes).toHaveLength(7);
  });
});

describe.each(ATTACKERS)('attacker %s', (attacker) => {
  const cases = CASES.filter((c) => c.attacker === attacker);
  it.each(cases.map((c) => [`${c.operation}: ${c.name}`, c] as const))('%s', async (_title, c) => {
    const client = attacker === 'ownerA' ? f.ownerA : f.pinnedA;
    const victim = f.victims[attacker];
    const variables = c.variables?.(victim.target, f, attacker) ?? {};
    const response = await client.request(c.document, variables);
    const exp = c.expectation;

    if ('error' in exp) {
      expect(response.errors?.length, JSON.stringify(response)).toBeGreaterThan(0);
      for (const error of response.errors!) {
        expect(error.extensions?.code, JSON.stringify(error)).toBe(exp.error);
        if (exp.reason) expect(error.extensions?.reason, JSON.stringify(error)).toBe(exp.reason);
        else if (exp.error === 'NOT_FOUND') expect(error.extensions?.reason).toMatch(/\.not_found$/);
      }
      expect(response.data?.[c.operation] ?? null).toBeNull();
    } else if ('userError' in exp) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      const payload = response.data![c.operation];
      expect(payload.userErrors.map((e: { code: string }) => e.code)).toEqual([exp.userError]);
      for (const [key, value] of Object.entries(payload)) if (key !== 'userErrors') expect(value).toBeNull();
    } else {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      await exp.check(response.data, f, attacker);
    }

    expect(leaks(response, c.document + JSON.stringify(variables), victim.sentinels), 'victim values in the response').toEqual([]);
    expect(await snapshot(victim), `${victim.label} changed`).toEqual(victim.baseline);
  });
});

describe('no cross-tenant existence oracle', () => {
  it("lets A use B's domain, external ids, email, role key, resource identifier and issuer in its own environment without conflict", async () => {
    const b = f.victims.ownerA.target;
    const org = await mutate(f.ownerA, 'createOrganization', 'CreateOrganizationInput', 'organization { id domains { domain } }', {
      environmentId: f.aDev.environmentId,
      name: 'Lookalike',
      externalId: b.orgExternalId,
      domains: [{ domain: b.domain }],
    });
    expect(org.organization.domains).toEqual([{ domain: b.domain }]);
    const user = await mutate(f.ownerA, 'createUser', 'CreateUserInput', 'user { id email }', {
      environmentId: f.aDev.environmentId,
      email: b.userEmail,
    });
    expect(user.user.email).toBe(b.userEmail);
    const role = await mutate(f.ownerA, 'createRole', 'CreateRoleInput', 'role { id key }', {
      environmentId: f.aDev.environmentId,
      key: b.roleKey,
      name: 'Lookalike role',
    });
    expect(role.role.key).toBe(b.roleKey);
    const resourceServer = await mutate(f.ownerA, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { identifier }', {
      environmentId: f.aDev.environmentId,
      name: 'Lookalike API',
      identifier: b.resourceIdentifier,
    });
    expect(resourceServer.resourceServer.identifier).toBe(b.resourceIdentifier);
    const trustedIssuer = await mutate(f.ownerA, 'createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { issuer }', {
      environmentId: f.aDev.environmentId,
      name: 'Lookalike IdP',
      issuer: b.trustedIssuerUrl,
      jwksUri: `${b.trustedIssuerUrl}/jwks`,
      audiences: ['lookalike'],
    });
    expect(trustedIssuer.trustedIssuer.issuer).toBe(b.trustedIssuerUrl);
    expect(await snapshot(f.victims.ownerA)).toEqual(f.victims.ownerA.baseline);
  });
});
