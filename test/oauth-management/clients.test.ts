import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/id.js';
import { ApplicationType, ClientKind, ClientSecret, OAuthClient } from '../../src/modules/oauth-client/oauth-client.entity.js';
import { oneError, type UserErrors } from '../helpers/graphql.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_ERRORS = 'userErrors { field code message }';
const CLIENT_FIELDS = `id clientId environmentId name description enabled allowedScopes allowedAudiences grantTypes accessTokenTtl
  customClaims jwks jwksUri createdAt updatedAt roles { key } clientSecrets { id clientId prefix description expiresAt revokedAt lastUsedAt createdAt }`;
const SA_FIELDS = `${CLIENT_FIELDS} organizationId`;
const APP_FIELDS = `${CLIENT_FIELDS} type redirectUris tokenEndpointAuthMethod`;

const CREATE_SA = `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { ${SA_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_SA = `mutation($input: UpdateServiceAccountInput!) { updateServiceAccount(input: $input) { serviceAccount { ${SA_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_SA = `mutation($id: ID!) { deleteServiceAccount(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const SERVICE_ACCOUNTS = `query($env: ID, $org: ID, $first: Int, $after: String) {
  serviceAccounts(environmentId: $env, organizationId: $org, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id name organizationId }
  }
}`;
const CREATE_APP = `mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { ${APP_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_APP = `mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { ${APP_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_APP = `mutation($id: ID!) { deleteApplication(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const APPLICATIONS = `query($env: ID, $type: ApplicationType) { applications(environmentId: $env, type: $type, first: 100) { totalCount nodes { id type enabled } } }`;
const CREATE_SECRET = `mutation($input: CreateClientSecretInput!) {
  createClientSecret(input: $input) { secret clientSecret { id clientId prefix description expiresAt revokedAt lastUsedAt createdAt } ${USER_ERRORS} }
}`;
const REVOKE_SECRET = `mutation($id: ID!) { revokeClientSecret(input: { id: $id }) { clientSecret { id revokedAt } ${USER_ERRORS} } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id
  ... on ServiceAccount { name clientSecrets { id prefix } }
  ... on Application { name type }
  ... on ClientSecret { clientId prefix revokedAt } } }`;
const AUDIT = `query($env: ID, $actions: [String!]) {
  auditEvents(environmentId: $env, first: 100, filter: { actions: $actions }) { nodes { action organizationId targets { type id name } before after } }
}`;

let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;
let devOrg: string;
let prodOrg: string;
const API = 'https://api.example.com';
const REPORTS_API = 'https://reports.example.com/v1';

async function createServiceAccount(input: Record<string, unknown>) {
  return (await ws.client.data(CREATE_SA, { input: { environmentId: dev, ...input } })).createServiceAccount as { serviceAccount: any; userErrors: UserErrors };
}

async function mustCreateServiceAccount(input: Record<string, unknown>) {
  const payload = await createServiceAccount(input);
  expect(payload.userErrors).toEqual([]);
  return payload.serviceAccount;
}

async function createSecret(input: Record<string, unknown>) {
  return (await ws.client.data(CREATE_SECRET, { input })).createClientSecret as { secret: string | null; clientSecret: any; userErrors: UserErrors };
}

async function auditEvents(actions: string[], env = dev) {
  return (await ws.client.data(AUDIT, { env, actions })).auditEvents.nodes as any[];
}

async function publicJwks() {
  const pair = await generateKeyPair('ES256', { extractable: true });
  return { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }], privateJwk: await exportJWK(pair.privateKey) };
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('OAuth clients');
  dev = ws.development.id;
  prod = ws.production.id;
  const setup = `mutation($env: ID, $prodEnv: ID) {
    api: createResourceServer(input: { environmentId: $env, name: "API", identifier: "${API}" }) { userErrors { code } }
    reports: createResourceServer(input: { environmentId: $env, name: "Reports", identifier: "${REPORTS_API}" }) { userErrors { code } }
    prodApi: createResourceServer(input: { environmentId: $prodEnv, name: "Prod only", identifier: "https://prod-only.example.com" }) { userErrors { code } }
    role: createRole(input: { environmentId: $env, key: "invoicer", name: "Invoicer" }) { userErrors { code } }
    devOrg: createOrganization(input: { environmentId: $env, name: "Acme" }) { organization { id } userErrors { code } }
    prodOrg: createOrganization(input: { environmentId: $prodEnv, name: "Acme prod" }) { organization { id } userErrors { code } }
  }`;
  const created = await ws.client.data(setup, { env: dev, prodEnv: prod });
  for (const payload of Object.values(created)) expect((payload as { userErrors: unknown[] }).userErrors).toEqual([]);
  devOrg = created.devOrg.organization.id;
  prodOrg = created.prodOrg.organization.id;
});
afterAll(() => server.close());

describe('service accounts', () => {
  it('are created with defaults: client credentials, one hour tokens, enabled, no roles or secrets', async () => {
    const sa = await mustCreateServiceAccount({ name: '  Billing sync  ' });
    expect(sa).toMatchObject({
      clientId: sa.id,
      environmentId: dev,
      organizationId: null,
      name: 'Billing sync',
      description: null,
      enabled: true,
      allowedScopes: [],
      allowedAudiences: [],
      grantTypes: ['client_credentials'],
      accessTokenTtl: 3600,
      customClaims: {},
      jwks: null,
      jwksUri: null,
      roles: [],
      clientSecrets: [],
    });
    expect(sa.id).toMatch(/^sva_[0-9a-z]{26}$/);
  });

  it('take every setting, normalised, and can be read back by node(id:) and listed oldest first', async () => {
    const { keys } = await publicJwks();
    const sa = await mustCreateServiceAccount({
      name: 'Reporting bot',
      description: 'Pulls reports',
      organizationId: devOrg,
      allowedScopes: ['reports:read', 'invoices:read', 'reports:read'],
      allowedAudiences: [REPORTS_API, API, API],
      grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'],
      accessTokenTtl: 600,
      customClaims: { tenant_tier: 'gold', limits: { rpm: 100 } },
      jwks: { keys: [{ ...keys[0], x5c: ['dropped'] }] },
      roleKeys: ['invoicer', 'member'],
    });
    expect(sa).toMatchObject({
      organizationId: devOrg,
      description: 'Pulls reports',
      allowedScopes: ['invoices:read', 'reports:read'],
      allowedAudiences: [API, REPORTS_API],
      grantTypes: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      accessTokenTtl: 600,
      customClaims: { tenant_tier: 'gold', limits: { rpm: 100 } },
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: keys[0].x, y: keys[0].y, kid: 'k1' }] },
      roles: [{ key: 'invoicer' }, { key: 'member' }],
    });

    const node = await ws.client.data(NODE, { id: sa.id });
    expect(node.node).toEqual({ __typename: 'ServiceAccount', id: sa.id, name: 'Reporting bot', clientSecrets: [] });

    const all = await ws.client.data(SERVICE_ACCOUNTS, { env: dev, first: 100 });
    const names = all.serviceAccounts.nodes.map((n: any) => n.name);
    expect(names.indexOf('Billing sync')).toBeLessThan(names.indexOf('Reporting bot'));
    const ofOrg = await ws.client.data(SERVICE_ACCOUNTS, { env: dev, org: devOrg });
    expect(ofOrg.serviceAccounts).toMatchObject({ totalCount: 1, nodes: [{ id: sa.id, organizationId: devOrg }] });
    const prodList = await ws.client.data(SERVICE_ACCOUNTS, { env: prod });
    expect(prodList.serviceAccounts.totalCount).toBe(0);
  });

  it('are changed field by field: omitted fields stay, a key source replaces the other, roles are replaced', async () => {
    const { keys } = await publicJwks();
    const sa = await mustCreateServiceAccount({ name: 'Changer', organizationId: devOrg, jwks: { keys }, roleKeys: ['invoicer'], allowedScopes: ['a'] });
    const update = async (input: Record<string, unknown>) => {
      const result = (await ws.client.data(UPDATE_SA, { input: { id: sa.id, ...input } })).updateServiceAccount;
      expect(result.userErrors).toEqual([]);
      return result.serviceAccount;
    };
    let after = await update({ name: 'Renamed', description: 'now described' });
    expect(after).toMatchObject({ name: 'Renamed', description: 'now described', allowedScopes: ['a'], roles: [{ key: 'invoicer' }], jwks: { keys } });
    after = await update({ jwksUri: 'https://keys.example.com/jwks.json', roleKeys: ['member'], accessTokenTtl: 60 });
    expect(after).toMatchObject({ jwks: null, jwksUri: 'https://keys.example.com/jwks.json', roles: [{ key: 'member' }], accessTokenTtl: 60 });
    after = await update({ organizationId: null, enabled: false, customClaims: { x: 1 }, description: null, roleKeys: [] });
    expect(after).toMatchObject({ organizationId: null, enabled: false, customClaims: { x: 1 }, description: null, roles: [] });
    after = await update({ enabled: true, jwksUri: null, customClaims: null });
    expect(after).toMatchObject({ enabled: true, jwksUri: null, jwks: null, customClaims: {} });
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(after.createdAt).getTime());
  });

  it('are deleted with their secrets', async () => {
    const sa = await mustCreateServiceAccount({ name: 'Doomed' });
    const secret = await createSecret({ clientId: sa.id });
    const deleted = await ws.client.data(DELETE_SA, { id: sa.id });
    expect(deleted.deleteServiceAccount).toEqual({ deletedId: sa.id, userErrors: [] });
    for (const id of [sa.id, secret.clientSecret.id]) {
      const gone = await ws.client.request(NODE, { id });
      expect(gone.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const again = await ws.client.request(DELETE_SA, { id: sa.id });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'service_account.not_found' });
  });

  it.each([
    ['an empty name', { name: ' ' }, 'validation.required', ['input', 'name']],
    ['a name that reads backwards on a consent page', { name: 'Payroll \u202Eppa' }, 'validation.hidden_characters', ['input', 'name']],
    ['a long description', { description: 'x'.repeat(1001) }, 'validation.too_long', ['input', 'description']],
    ['a scope with a space', { allowedScopes: ['read all'] }, 'oauth.invalid_scope', ['input', 'allowedScopes']],
    ['an audience that is no resource server', { allowedAudiences: ['https://nowhere.example'] }, 'oauth_client.unknown_audience', ['input', 'allowedAudiences']],
    ['an audience of another environment', { allowedAudiences: ['https://prod-only.example.com'] }, 'oauth_client.unknown_audience', ['input', 'allowedAudiences']],
    ['an unsupported grant', { grantTypes: ['authorization_code'] }, 'oauth.invalid_grant_type', ['input', 'grantTypes']],
    ['no grant', { grantTypes: [] }, 'oauth.invalid_grant_type', ['input', 'grantTypes']],
    ['a too short token lifetime', { accessTokenTtl: 59 }, 'oauth.invalid_token_ttl', ['input', 'accessTokenTtl']],
    ['a too long token lifetime', { accessTokenTtl: 86_401 }, 'oauth.invalid_token_ttl', ['input', 'accessTokenTtl']],
    ['a reserved claim', { customClaims: { sub: 'someone-else' } }, 'oauth.reserved_claim', ['input', 'customClaims']],
    ['oversized claims', { customClaims: { blob: 'x'.repeat(5000) } }, 'oauth.invalid_claims', ['input', 'customClaims']],
    ['a symmetric key', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, 'oauth.invalid_jwks', ['input', 'jwks']],
    ['a JWKS without keys', { jwks: { keys: [] } }, 'oauth.invalid_jwks', ['input', 'jwks']],
    ['a plain-http JWKS URL', { jwksUri: 'http://keys.example.com/jwks' }, 'oauth.invalid_jwks_uri', ['input', 'jwksUri']],
    ['a JWKS URL at a private address', { jwksUri: 'https://10.0.0.8/jwks' }, 'oauth.invalid_jwks_uri', ['input', 'jwksUri']],
    ['both jwks and jwksUri', { jwks: { keys: [{ kty: 'oct' }] }, jwksUri: 'https://keys.example.com/jwks' }, 'oauth.jwks_conflict', ['input', 'jwksUri']],
    ['an unknown role', { roleKeys: ['member', 'nope'] }, 'role.unknown', ['input', 'roleKeys']],
  ])('refuse %s on create and on update, changing nothing', async (_label, input, code, field) => {
    const before = (await ws.client.data(SERVICE_ACCOUNTS, { env: dev, first: 100 })).serviceAccounts.totalCount;
    const created = await createServiceAccount({ name: 'Refused', ...input });
    expect(created).toEqual({ serviceAccount: null, userErrors: oneError(code, field) });
    expect((await ws.client.data(SERVICE_ACCOUNTS, { env: dev, first: 100 })).serviceAccounts.totalCount).toBe(before);

    const target = await mustCreateServiceAccount({ name: 'Target' });
    const updated = (await ws.client.data(UPDATE_SA, { input: { id: target.id, ...input } })).updateServiceAccount;
    expect(updated).toEqual({ serviceAccount: null, userErrors: oneError(code, field) });
    expect((await ws.client.data(NODE, { id: target.id })).node.name).toBe('Target');
    await ws.client.data(DELETE_SA, { id: target.id });
  });

  it("refuse an organization of another environment as not found", async () => {
    const result = await ws.client.request(CREATE_SA, { input: { environmentId: dev, name: 'Cross', organizationId: prodOrg } });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'organization.not_found' });
  });

  it('are not applications, and applications are not service accounts', async () => {
    const app = (await ws.client.data(CREATE_APP, { input: { environmentId: dev, name: 'An app' } })).createApplication.application;
    const sa = await mustCreateServiceAccount({ name: 'An account' });
    const wrongUpdate = await ws.client.request(UPDATE_SA, { input: { id: app.id, name: 'x' } });
    expect(wrongUpdate.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'service_account.not_found' });
    const wrongDelete = await ws.client.request(DELETE_APP, { id: sa.id });
    expect(wrongDelete.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'application.not_found' });
  });
});

describe('applications', () => {
  it('are created as M2M, updated, disabled and deleted', async () => {
    const created = (await ws.client.data(CREATE_APP, {
      input: { environmentId: dev, name: 'Partner backend', allowedAudiences: [API], grantTypes: ['client_credentials'], roleKeys: ['invoicer'] },
    })).createApplication;
    expect(created.userErrors).toEqual([]);
    const app = created.application;
    expect(app).toMatchObject({
      clientId: app.id,
      type: 'M2M',
      name: 'Partner backend',
      allowedAudiences: [API],
      redirectUris: [],
      tokenEndpointAuthMethod: null,
      roles: [{ key: 'invoicer' }],
      enabled: true,
    });
    expect(app.id).toMatch(/^app_/);
    const node = await ws.client.data(NODE, { id: app.id });
    expect(node.node).toEqual({ __typename: 'Application', id: app.id, name: 'Partner backend', type: 'M2M' });

    const disabled = (await ws.client.data(UPDATE_APP, { input: { id: app.id, enabled: false, allowedScopes: ['x:y'] } })).updateApplication;
    expect(disabled).toMatchObject({ application: { enabled: false, allowedScopes: ['x:y'], type: 'M2M' }, userErrors: [] });

    const refused = (await ws.client.data(UPDATE_APP, { input: { id: app.id, accessTokenTtl: 5 } })).updateApplication;
    expect(refused).toEqual({ application: null, userErrors: oneError('oauth.invalid_token_ttl', ['input', 'accessTokenTtl']) });

    expect((await ws.client.data(DELETE_APP, { id: app.id })).deleteApplication).toEqual({ deletedId: app.id, userErrors: [] });
    const events = await auditEvents(['application.created', 'application.updated', 'application.deleted']);
    const mine = events.filter((event) => event.targets[0].id === app.id);
    expect(mine.map((event) => event.action)).toEqual(['application.deleted', 'application.updated', 'application.created']);
    expect(mine[1].before).toMatchObject({ enabled: true, type: 'M2M' });
    expect(mine[1].after).toMatchObject({ enabled: false });
  });

  it('include dynamically registered ones, which an admin can disable', async () => {
    const em = systemFork(server.database.db.orm, 'test: reads and sets stored client rows directly');
    const dynamic = em.create(OAuthClient, {
      id: newId('application'),
      environmentId: dev,
      kind: ClientKind.APPLICATION,
      applicationType: ApplicationType.DYNAMIC,
      name: 'Registered tool',
      allowedScopes: [],
      allowedAudiences: [],
      grantTypes: ['client_credentials'],
      redirectUris: ['http://127.0.0.1:9999/cb'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    await em.persist(dynamic).flush();

    const dynamicOnly = await ws.client.data(APPLICATIONS, { env: dev, type: 'DYNAMIC' });
    expect(dynamicOnly.applications).toEqual({ totalCount: 1, nodes: [{ id: dynamic.id, type: 'DYNAMIC', enabled: true }] });
    const m2m = await ws.client.data(APPLICATIONS, { env: dev, type: 'M2M' });
    expect(m2m.applications.nodes.map((n: any) => n.type)).not.toContain('DYNAMIC');

    const disabled = (await ws.client.data(UPDATE_APP, { input: { id: dynamic.id, enabled: false } })).updateApplication;
    expect(disabled).toMatchObject({
      application: { id: dynamic.id, type: 'DYNAMIC', enabled: false, redirectUris: ['http://127.0.0.1:9999/cb'], tokenEndpointAuthMethod: 'client_secret_basic' },
      userErrors: [],
    });
    const [event] = (await auditEvents(['application.updated'])).filter((e) => e.targets[0].id === dynamic.id);
    expect(event.before).toMatchObject({ enabled: true, type: 'DYNAMIC', authMethod: 'client_secret_basic' });
    expect(event.after).toMatchObject({ enabled: false });
  });
});

describe('applications people sign in to', () => {
  const SIGN_IN_FIELDS = `${APP_FIELDS} postLogoutRedirectUris allowedWebOrigins firstParty idTokenTtl refreshTokenIdleTtl refreshTokenAbsoluteTtl backchannelLogoutUri`;
  const CREATE = `mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { ${SIGN_IN_FIELDS} } ${USER_ERRORS} } }`;
  const UPDATE = `mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { ${SIGN_IN_FIELDS} } ${USER_ERRORS} } }`;
  const create = async (input: Record<string, unknown>) => (await ws.client.data(CREATE, { input: { environmentId: dev, ...input } })).createApplication;
  const update = async (input: Record<string, unknown>) => (await ws.client.data(UPDATE, { input })).updateApplication;

  it('are WEB, SPA or NATIVE, with sign-in defaults and every setting read back', async () => {
    const web = await create({
      name: 'Dashboard',
      type: 'WEB',
      redirectUris: ['https://app.example.com/callback', 'http://localhost:3000/callback'],
      postLogoutRedirectUris: ['https://app.example.com/'],
      allowedWebOrigins: ['https://app.example.com'],
      backchannelLogoutUri: 'https://app.example.com/backchannel-logout',
      allowedAudiences: [API],
    });
    expect(web.userErrors).toEqual([]);
    expect(web.application).toMatchObject({
      type: 'WEB',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://app.example.com/callback', 'http://localhost:3000/callback'],
      postLogoutRedirectUris: ['https://app.example.com/'],
      allowedWebOrigins: ['https://app.example.com'],
      firstParty: true,
      idTokenTtl: 3600,
      refreshTokenIdleTtl: 14 * 86_400,
      refreshTokenAbsoluteTtl: 90 * 86_400,
      backchannelLogoutUri: 'https://app.example.com/backchannel-logout',
      clientSecrets: [],
    });
    const spa = await create({ name: 'SPA', type: 'SPA', redirectUris: ['https://spa.example.com/'], allowedWebOrigins: ['https://spa.example.com'], firstParty: false });
    expect(spa).toMatchObject({ application: { type: 'SPA', firstParty: false, grantTypes: ['authorization_code', 'refresh_token'] }, userErrors: [] });
    const native = await create({
      name: 'CLI',
      type: 'NATIVE',
      redirectUris: ['http://127.0.0.1/callback', 'com.example.cli:/oauth'],
      idTokenTtl: 600,
      refreshTokenIdleTtl: 3_600,
      refreshTokenAbsoluteTtl: 86_400,
    });
    expect(native).toMatchObject({
      application: { type: 'NATIVE', redirectUris: ['http://127.0.0.1/callback', 'com.example.cli:/oauth'], idTokenTtl: 600, refreshTokenIdleTtl: 3_600, refreshTokenAbsoluteTtl: 86_400 },
      userErrors: [],
    });

    const listed = await ws.client.data(APPLICATIONS, { env: dev, type: 'SPA' });
    expect(listed.applications.nodes).toEqual([{ id: spa.application.id, type: 'SPA', enabled: true }]);

    // Changed field by field; the type stays; the change is audited with the sign-in settings.
    const changed = await update({ id: web.application.id, redirectUris: ['https://app.example.com/cb2'], firstParty: false, backchannelLogoutUri: null });
    expect(changed).toMatchObject({
      application: { type: 'WEB', redirectUris: ['https://app.example.com/cb2'], firstParty: false, backchannelLogoutUri: null, postLogoutRedirectUris: ['https://app.example.com/'] },
      userErrors: [],
    });
    const [event] = (await auditEvents(['application.updated'])).filter((e) => e.targets[0].id === web.application.id);
    expect(event.before).toMatchObject({ type: 'WEB', firstParty: true, redirectUris: ['https://app.example.com/callback', 'http://localhost:3000/callback'] });
    expect(event.after).toMatchObject({ firstParty: false, redirectUris: ['https://app.example.com/cb2'], backchannelLogoutUri: null, refreshIdleTtl: 14 * 86_400 });
  });

  it('refuse what their type cannot hold, and change nothing', async () => {
    const refusals: [Record<string, unknown>, string, string][] = [
      [{ type: 'DYNAMIC' }, 'oauth_client.invalid_type', 'type'],
      [{ type: 'M2M', redirectUris: ['https://a.example/cb'] }, 'oauth_client.not_interactive', 'redirectUris'],
      [{ redirectUris: ['https://a.example/cb'] }, 'oauth_client.not_interactive', 'redirectUris'],
      [{ type: 'WEB', redirectUris: ['http://app.example.com/cb'] }, 'oauth.invalid_redirect_uri', 'redirectUris'],
      [{ type: 'WEB', redirectUris: ['https://*.example.com/cb'] }, 'oauth.invalid_redirect_uri', 'redirectUris'],
      [{ type: 'WEB', postLogoutRedirectUris: ['https://a.example/#x'] }, 'oauth.invalid_redirect_uri', 'postLogoutRedirectUris'],
      [{ type: 'NATIVE', redirectUris: ['http://localhost:8080/cb'] }, 'oauth.invalid_redirect_uri', 'redirectUris'],
      [{ type: 'NATIVE', redirectUris: ['myapp:/cb'] }, 'oauth.invalid_redirect_uri', 'redirectUris'],
      [{ type: 'NATIVE', allowedWebOrigins: ['https://a.example'] }, 'oauth_client.not_browser', 'allowedWebOrigins'],
      [{ type: 'SPA', allowedWebOrigins: ['https://a.example/path'] }, 'oauth.invalid_web_origin', 'allowedWebOrigins'],
      [{ type: 'SPA', grantTypes: ['client_credentials'] }, 'oauth_client.invalid_grant_type', 'grantTypes'],
      [{ type: 'SPA', jwksUri: 'https://keys.example.com/jwks' }, 'oauth_client.public_client', 'jwksUri'],
      [{ type: 'SPA', backchannelLogoutUri: 'https://a.example/logout' }, 'oauth_client.not_web', 'backchannelLogoutUri'],
      [{ type: 'WEB', backchannelLogoutUri: 'https://10.0.0.8/logout' }, 'oauth.invalid_backchannel_logout_uri', 'backchannelLogoutUri'],
      [{ type: 'WEB', idTokenTtl: 10 }, 'oauth_client.invalid_lifetime', 'idTokenTtl'],
      [{ type: 'WEB', refreshTokenIdleTtl: 7_200, refreshTokenAbsoluteTtl: 3_600 }, 'oauth_client.invalid_lifetime', 'refreshTokenAbsoluteTtl'],
    ];
    const before = (await ws.client.data(APPLICATIONS, { env: dev, type: null })).applications.totalCount;
    for (const [input, code, name] of refusals) {
      const payload = await create({ name: 'Refused', ...input });
      expect(payload, JSON.stringify(input)).toEqual({ application: null, userErrors: oneError(code, ['input', name]) });
    }
    expect((await ws.client.data(APPLICATIONS, { env: dev, type: null })).applications.totalCount).toBe(before);

    // On an update the stored type and lifetimes count.
    const spa = (await create({ name: 'SPA 2', type: 'SPA', refreshTokenIdleTtl: 3_600, refreshTokenAbsoluteTtl: 7_200 })).application;
    expect(await update({ id: spa.id, refreshTokenIdleTtl: 10_000 })).toEqual({ application: null, userErrors: oneError('oauth_client.invalid_lifetime', ['input', 'refreshTokenIdleTtl']) });
    expect(await update({ id: spa.id, backchannelLogoutUri: 'https://a.example/logout' })).toEqual({
      application: null,
      userErrors: oneError('oauth_client.not_web', ['input', 'backchannelLogoutUri']),
    });
    const m2m = (await create({ name: 'Backend' })).application;
    expect(await update({ id: m2m.id, allowedWebOrigins: ['https://a.example'] })).toEqual({
      application: null,
      userErrors: oneError('oauth_client.not_interactive', ['input', 'allowedWebOrigins']),
    });
    const unchanged = (await ws.client.data(NODE, { id: spa.id })).node;
    expect(unchanged).toEqual({ __typename: 'Application', id: spa.id, name: 'SPA 2', type: 'SPA' });
  });

  it('hold no secret when they are public clients', async () => {
    const spa = (await create({ name: 'Public', type: 'SPA' })).application;
    expect(await createSecret({ clientId: spa.id })).toEqual({ secret: null, clientSecret: null, userErrors: oneError('oauth_client.public_client', ['input', 'clientId']) });
    const web = (await create({ name: 'Confidential', type: 'WEB' })).application;
    expect((await createSecret({ clientId: web.id })).secret).toMatch(/^ghcs_/);
  });
});

describe('client secrets', () => {
  it('are shown once, stored as SHA-256 only, and listed without their value', async () => {
    const sa = await mustCreateServiceAccount({ name: 'Secret holder' });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await createSecret({ clientId: sa.id, description: 'CI', expiresAt });
    expect(created.userErrors).toEqual([]);
    expect(created.secret).toMatch(/^ghcs_[A-Za-z0-9_-]{43}$/);
    expect(created.clientSecret).toMatchObject({ clientId: sa.id, prefix: created.secret!.slice(0, 12), description: 'CI', expiresAt, revokedAt: null, lastUsedAt: null });
    expect(created.clientSecret.id).toMatch(/^cls_/);

    const stored = await systemFork(server.database.db.orm, 'test: reads and sets stored client rows directly').findOneOrFail(ClientSecret, { id: created.clientSecret.id });
    expect(stored.secretHash).toBe(sha256(created.secret!));
    expect(JSON.stringify(stored)).not.toContain(created.secret!);

    // Nothing in the API returns the value or the hash again.
    const type = await ws.client.data(`{ __type(name: "ClientSecret") { fields { name } } }`);
    expect(type.__type.fields.map((f: any) => f.name).sort()).toEqual(
      ['clientId', 'createdAt', 'description', 'expiresAt', 'id', 'lastUsedAt', 'prefix', 'revokedAt'].sort(),
    );
    const read = await ws.client.request(`query($id: ID!) { node(id: $id) { ... on ServiceAccount { clientSecrets { id prefix } } } }`, { id: sa.id });
    const body = JSON.stringify(read);
    expect(body).not.toContain(created.secret!);
    expect(body).not.toContain(stored.secretHash);
    expect(read.data!.node.clientSecrets).toEqual([{ id: created.clientSecret.id, prefix: created.clientSecret.prefix }]);
  });

  it('are revoked once, and a client holds at most five live ones (revoked and expired ones do not count)', async () => {
    const app = (await ws.client.data(CREATE_APP, { input: { environmentId: dev, name: 'Rotating app' } })).createApplication.application;
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const created = await createSecret({ clientId: app.id, description: `s${i}` });
      expect(created.userErrors).toEqual([]);
      ids.push(created.clientSecret.id);
    }
    expect(await createSecret({ clientId: app.id })).toEqual({ secret: null, clientSecret: null, userErrors: oneError('client_secret.too_many', ['input', 'clientId']) });

    const revoked = (await ws.client.data(REVOKE_SECRET, { id: ids[0] })).revokeClientSecret;
    expect(revoked.userErrors).toEqual([]);
    expect(revoked.clientSecret.revokedAt).toEqual(expect.any(String));
    expect((await ws.client.data(REVOKE_SECRET, { id: ids[0] })).revokeClientSecret).toEqual({
      clientSecret: null,
      userErrors: oneError('client_secret.already_revoked', ['input', 'id']),
    });
    expect((await createSecret({ clientId: app.id })).userErrors).toEqual([]);
    expect((await createSecret({ clientId: app.id })).userErrors).toEqual(oneError('client_secret.too_many', ['input', 'clientId']));

    // An expired secret frees its slot too.
    const past = new Date(Date.now() - 1000);
    await systemFork(server.database.db.orm, 'test: reads and sets stored client rows directly').nativeUpdate(ClientSecret, { id: ids[1] }, { expiresAt: past });
    expect((await createSecret({ clientId: app.id })).userErrors).toEqual([]);

    const node = await ws.client.data(`query($id: ID!) { node(id: $id) { ... on Application { clientSecrets { id revokedAt expiresAt } } } }`, { id: app.id });
    expect(node.node.clientSecrets).toHaveLength(7);
    expect(node.node.clientSecrets[0]).toMatchObject({ id: ids[0], revokedAt: expect.any(String) });
    expect(node.node.clientSecrets[1]).toMatchObject({ id: ids[1], revokedAt: null, expiresAt: past.toISOString() });
  });

  it('refuse a past expiry and an unknown client', async () => {
    const sa = await mustCreateServiceAccount({ name: 'Expiry' });
    expect(await createSecret({ clientId: sa.id, expiresAt: new Date(Date.now() - 60_000).toISOString() })).toEqual({
      secret: null,
      clientSecret: null,
      userErrors: oneError('client_secret.invalid_expiry', ['input', 'expiresAt']),
    });
    const unknown = await ws.client.request(CREATE_SECRET, { input: { clientId: 'sva_01aaaaaaaaaaaaaaaaaaaaaaaa' } });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'service_account.not_found' });
    const revokeUnknown = await ws.client.request(REVOKE_SECRET, { id: 'cls_01aaaaaaaaaaaaaaaaaaaaaaaa' });
    expect(revokeUnknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'client_secret.not_found' });
  });
});

describe('audit', () => {
  it('records every change, with JWKS as a fingerprint and never a secret or its hash', async () => {
    const { keys } = await publicJwks();
    const sa = await mustCreateServiceAccount({ name: 'Audited', organizationId: devOrg, jwks: { keys }, roleKeys: ['invoicer'], accessTokenTtl: 120 });
    const created = await createSecret({ clientId: sa.id, description: 'audited secret' });
    await ws.client.data(REVOKE_SECRET, { id: created.clientSecret.id });
    await ws.client.data(UPDATE_SA, { input: { id: sa.id, enabled: false } });
    await ws.client.data(DELETE_SA, { id: sa.id });

    const actions = ['service_account.created', 'client_secret.created', 'client_secret.revoked', 'service_account.updated', 'service_account.deleted'];
    const events = (await auditEvents(actions)).filter((event) => event.targets.some((t: any) => t.id === sa.id)).reverse();
    expect(events.map((event) => event.action)).toEqual(actions);
    expect(events.every((event) => event.organizationId === devOrg)).toBe(true);
    expect(events[0].targets).toEqual([{ type: 'service_account', id: sa.id, name: 'Audited' }]);
    expect(events[0].after).toMatchObject({
      id: sa.id,
      organizationId: devOrg,
      accessTtl: 120,
      roles: ['invoicer'],
      jwksFingerprint: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
    });
    expect(events[0].after).not.toHaveProperty('jwks');
    expect(events[1].targets).toEqual([
      { type: 'client_secret', id: created.clientSecret.id, name: created.clientSecret.prefix },
      { type: 'service_account', id: sa.id, name: 'Audited' },
    ]);
    expect(events[1].after).toMatchObject({ prefix: created.clientSecret.prefix, description: 'audited secret', revokedAt: null });
    expect(events[2].after.revokedAt).toEqual(expect.any(String));
    expect(events[3].before.enabled).toBe(true);
    expect(events[3].after.enabled).toBe(false);
    expect(events[4].before).toMatchObject({ id: sa.id, enabled: false });

    const text = JSON.stringify(events);
    expect(text).not.toContain(created.secret!);
    expect(text).not.toContain(sha256(created.secret!));
    expect(text).not.toContain(keys[0].x as string);
    expect(text).not.toContain('[REDACTED]');
  });
});

describe('listing many service accounts', () => {
  const QUERY = `query($env: ID, $n: Int) { serviceAccounts(environmentId: $env, first: $n) {
    nodes { id name roles { key permissions { key } } clientSecrets { prefix revokedAt } } } }`;

  async function measure(n: number, env: string) {
    await ws.client.data(`{ viewer { scopes } }`);
    server.sql.statements.length = 0;
    server.sql.count = 0;
    const result = await ws.client.request(QUERY, { env, n });
    expect(result.errors).toBeUndefined();
    return { count: server.sql.count, statements: [...server.sql.statements], nodes: result.data!.serviceAccounts.nodes as any[] };
  }

  it('costs the same few SQL statements for 3 and for 9, roles and secrets included', async () => {
    // A fresh environment of its own, so the count is exactly 20.
    const env = (await ws.client.data(`mutation { createEnvironment(input: { name: "Many", slug: "many", kind: DEVELOPMENT }) { environment { id } } }`))
      .createEnvironment.environment.id;
    await ws.client.data(`mutation($env: ID) { createPermission(input: { environmentId: $env, key: "a:read" }) { userErrors { code } }
      createRole(input: { environmentId: $env, key: "bot", name: "Bot", permissionKeys: ["a:read"] }) { userErrors { code } } }`, { env });
    for (let i = 0; i < 20; i += 1) {
      const sa = (await ws.client.data(CREATE_SA, { input: { environmentId: env, name: `Bot ${String(i).padStart(2, '0')}`, roleKeys: ['bot', 'member'] } }))
        .createServiceAccount.serviceAccount;
      for (let s = 0; s < 2; s += 1) expect((await createSecret({ clientId: sa.id })).userErrors).toEqual([]);
    }
    // 9 is the most that fits the cost limit: each account prices 20 roles of 100 permissions.
    const nine = await measure(9, env);
    expect(nine.nodes).toHaveLength(9);
    for (const node of nine.nodes) {
      expect(node.roles).toEqual([{ key: 'bot', permissions: [{ key: 'a:read' }] }, { key: 'member', permissions: [] }]);
      expect(node.clientSecrets).toHaveLength(2);
    }
    const three = await measure(3, env);
    expect(three.nodes).toHaveLength(3);
    expect(nine.count, nine.statements.join('\n')).toBe(three.count);
    // Authentication, the page, then one statement per relation (roles, their permissions, secrets).
    expect(nine.count, nine.statements.join('\n')).toBeLessThanOrEqual(8);

    // The measurement is sensitive: without batching the count grows with N.
    server.config.dataLoaderBatching = false;
    try {
      expect((await measure(9, env)).count).toBeGreaterThan((await measure(3, env)).count + 9);
    } finally {
      server.config.dataLoaderBatching = true;
    }
  });
});
