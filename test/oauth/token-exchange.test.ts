import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, basic, clientKeyPair, mutate, OTHER_API, oauthFixture, postForm, type KeyPair, type OAuthFixture } from '../helpers/oauth.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const EXTERNAL_ISSUER = 'https://idp.partner.example.test';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;
let as: oauth.AuthorizationServer;
/** Service accounts allowed to exchange tokens. */
let agent: { clientId: string; secret: string };
let tool: { clientId: string; secret: string };
let external: KeyPair;

async function serviceAccount(name: string, input: Record<string, unknown>) {
  const created = await mutate(ws.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', {
    environmentId: f.environmentId,
    name,
    ...input,
  });
  const secret = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: created.serviceAccount.clientId });
  return { clientId: created.serviceAccount.clientId as string, secret: secret.secret as string };
}

async function clientCredentials(client: { clientId: string; secret: string }, params: Record<string, string>) {
  const response = await postForm(f.tokenEndpoint, { grant_type: 'client_credentials', ...params }, { authorization: basic(client.clientId, client.secret) });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.access_token as string;
}

/** The exchange through oauth4webapi, as an independent client would make it. */
async function exchange(client: { clientId: string; secret: string }, params: Record<string, string>) {
  const response = await oauth.genericTokenEndpointRequest(as, { client_id: client.clientId }, oauth.ClientSecretBasic(client.secret), TOKEN_EXCHANGE, new URLSearchParams(params), {
    [oauth.allowInsecureRequests]: true,
  });
  return oauth.processGenericTokenEndpointResponse(as, { client_id: client.clientId }, response);
}

/** The raw exchange, for the error cases. */
const rawExchange = (client: { clientId: string; secret: string }, params: Record<string, string>) =>
  postForm(f.tokenEndpoint, { grant_type: TOKEN_EXCHANGE, ...params }, { authorization: basic(client.clientId, client.secret) });

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
  as = await oauth.processDiscoveryResponse(
    new URL(f.issuer),
    await oauth.discoveryRequest(new URL(f.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
  );
  const exchanger = { grantTypes: ['client_credentials', TOKEN_EXCHANGE], allowedScopes: ['read', 'write', 'other'], allowedAudiences: [API, OTHER_API] };
  agent = await serviceAccount('Agent', exchanger);
  tool = await serviceAccount('Tool', exchanger);
  external = await clientKeyPair('ES256', 'partner-1');
  await mutate(ws.client, 'createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { id }', {
    environmentId: f.environmentId,
    name: 'Partner IdP',
    issuer: EXTERNAL_ISSUER,
    jwks: { keys: [external.publicJwk] },
    audiences: [f.issuer],
  });
});
afterAll(() => server?.close());

describe('token exchange (RFC 8693)', () => {
  it('exchanges a subject token for a narrower one, recording the delegation chain in nested act claims', async () => {
    // The fixture's service account (subject) may reach API and OTHER_API with read write other.
    const subjectToken = await clientCredentials({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read write' });
    const actorToken = await clientCredentials(agent, { resource: API, scope: 'read' });
    const first = await exchange(agent, {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      actor_token: actorToken,
      actor_token_type: ACCESS_TOKEN,
      resource: API,
      scope: 'read',
    });
    expect(first).toMatchObject({ issued_token_type: ACCESS_TOKEN, token_type: 'bearer', scope: 'read' });
    const jwks = createRemoteJWKSet(new URL(f.jwksUri));
    const { payload } = await jwtVerify(first.access_token, jwks, { issuer: f.issuer, audience: API, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: f.clientId, client_id: agent.clientId, scope: 'read', org_id: f.organizationId, act: { sub: agent.clientId } });
    expect(payload.exp!).toBeLessThanOrEqual(decodeJwt(subjectToken).exp!);

    // The tool exchanges the agent's token again: the agent moves inside the new act.
    const toolActor = await clientCredentials(tool, { resource: API, scope: 'read' });
    const second = await exchange(tool, {
      subject_token: first.access_token,
      subject_token_type: ACCESS_TOKEN,
      actor_token: toolActor,
      actor_token_type: ACCESS_TOKEN,
      resource: API,
    });
    expect(decodeJwt(second.access_token)).toMatchObject({ sub: f.clientId, client_id: tool.clientId, scope: 'read', act: { sub: tool.clientId, act: { sub: agent.clientId } } });

    const events = await ws.client.data(
      `query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["oauth.token_exchanged"] }) { nodes { actor { type id } after targets { id } } } }`,
      { env: f.environmentId },
    );
    const newest = events.auditEvents.nodes[0];
    expect(newest.actor).toEqual({ type: 'OAUTH_CLIENT', id: tool.clientId });
    expect(newest.after).toMatchObject({
      jti: decodeJwt(second.access_token).jti,
      subject: { iss: f.issuer, sub: f.clientId, jti: decodeJwt(first.access_token).jti },
      actor: { sub: tool.clientId },
      delegation: { sub: tool.clientId, act: { sub: agent.clientId } },
    });
    expect(JSON.stringify(events)).not.toContain(subjectToken.split('.')[2]);
  });

  it('never widens the subject: scopes beyond its token, audiences beyond its client, lifetimes beyond its expiry', async () => {
    const subjectToken = await clientCredentials({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read' });
    const widerScope = await rawExchange(agent, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: API, scope: 'write' });
    expect(widerScope.status).toBe(400);
    expect(widerScope.body.error).toBe('invalid_scope');

    // A subject whose client may reach only API cannot be exchanged into a token for OTHER_API.
    const narrow = await serviceAccount('Narrow', { allowedScopes: ['read'], allowedAudiences: [API] });
    const narrowToken = await clientCredentials(narrow, { resource: API });
    const widerAudience = await rawExchange(agent, { subject_token: narrowToken, subject_token_type: ACCESS_TOKEN, resource: OTHER_API });
    expect(widerAudience.status).toBe(400);
    expect(widerAudience.body.error).toBe('invalid_target');

    // A subject token that has been revoked is refused.
    expect((await postForm(`${f.issuer}/oauth/revoke`, { token: narrowToken }, { authorization: basic(narrow.clientId, narrow.secret) })).status).toBe(200);
    const revoked = await rawExchange(agent, { subject_token: narrowToken, subject_token_type: ACCESS_TOKEN, resource: API });
    expect(revoked.status).toBe(400);
    expect(revoked.body.error).toBe('invalid_request');
  });

  it('refuses malformed or unacceptable exchanges with invalid_request, and clients without the grant with unauthorized_client', async () => {
    const subjectToken = await clientCredentials({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read' });
    const cases: [Record<string, string>, string][] = [
      [{ subject_token_type: ACCESS_TOKEN }, 'invalid_request'],
      [{ subject_token: subjectToken }, 'invalid_request'],
      [{ subject_token: subjectToken, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }, 'invalid_request'],
      [{ subject_token: 'garbage', subject_token_type: ACCESS_TOKEN }, 'invalid_request'],
      [{ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, actor_token_type: ACCESS_TOKEN }, 'invalid_request'],
      [{ subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
      [{ subject_token: subjectToken.slice(0, -4) + 'AAAA', subject_token_type: ACCESS_TOKEN }, 'invalid_request'],
    ];
    for (const [params, error] of cases) {
      const response = await rawExchange(agent, { resource: API, ...params });
      expect(response.status, JSON.stringify(params)).toBe(400);
      expect(response.body.error, JSON.stringify(params)).toBe(error);
    }
    const notAllowed = await rawExchange({ clientId: f.clientId, secret: f.secret }, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: API });
    expect(notAllowed.body.error).toBe('unauthorized_client');
  });

  it('accepts subject tokens of a trusted external issuer, checked against its keys and audience', async () => {
    const sign = (claims: Record<string, unknown>, key = external) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.publicJwk.kid }).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
    const userToken = await sign({ iss: EXTERNAL_ISSUER, aud: f.issuer, sub: 'partner-user-42', scope: 'read write' });
    const result = await exchange(agent, { subject_token: userToken, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: OTHER_API, scope: 'other' }).catch((e) => e);
    // The partner's token carries no `other` scope: not grantable.
    expect(result).toMatchObject({ error: 'invalid_scope' });
    const exchanged = await exchange(agent, { subject_token: userToken, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: API });
    // The outside subject is namespaced by its issuer: it can never read as a local id.
    expect(decodeJwt(exchanged.access_token)).toMatchObject({ iss: f.issuer, sub: `${EXTERNAL_ISSUER}#partner-user-42`, client_id: agent.clientId, aud: API, scope: 'read write' });

    const stranger = await clientKeyPair('ES256', 'partner-1');
    const refused = [
      await sign({ iss: EXTERNAL_ISSUER, aud: f.issuer, sub: 'x' }, stranger), // not the partner's key
      await sign({ iss: EXTERNAL_ISSUER, aud: 'https://elsewhere.example.test', sub: 'x' }), // not for us
      await sign({ iss: 'https://unknown-idp.example.test', aud: f.issuer, sub: 'x' }), // not trusted
    ];
    for (const token of refused) {
      const response = await rawExchange(agent, { subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', resource: API });
      expect(response.body.error).toBe('invalid_request');
    }
  });

  it('refuses actor tokens of disabled clients, subject tokens aimed elsewhere, and other organizations\' subjects', async () => {
    const subjectToken = await clientCredentials({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read' });
    // An actor whose client has since been disabled.
    const actorClient = await serviceAccount('Soon disabled', { allowedScopes: ['read'], allowedAudiences: [API] });
    const actorToken = await clientCredentials(actorClient, { resource: API });
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: actorClient.clientId, enabled: false });
    const withDisabledActor = await rawExchange(agent, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, actor_token: actorToken, actor_token_type: ACCESS_TOKEN, resource: API });
    expect(withDisabledActor.body.error).toBe('invalid_request');

    // A client that may only reach OTHER_API cannot exchange a token meant for API.
    const outsider = await serviceAccount('Outsider', { grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'], allowedScopes: ['read', 'other'], allowedAudiences: [OTHER_API] });
    const retarget = await rawExchange(outsider, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: OTHER_API });
    expect(retarget.status).toBe(400);
    expect(retarget.body.error).toBe('invalid_request');

    // Another organization's service account cannot act for this organization's subject.
    const otherOrg = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: f.environmentId, name: 'Globex' });
    const foreignAgent = await serviceAccount('Globex agent', {
      organizationId: otherOrg.organization.id,
      grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      allowedScopes: ['read'],
      allowedAudiences: [API],
    });
    const crossOrg = await rawExchange(foreignAgent, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: API });
    expect(crossOrg.body.error).toBe('invalid_request');
  });
});
