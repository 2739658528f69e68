import { createRequire } from 'node:module';
import { generate } from 'selfsigned';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { warnExpiringCertificates } from '../../src/modules/connection/certificate-expiry.js';
import { refreshIdpMetadata } from '../../src/modules/connection/idp-metadata-refresh.js';
import { guardedFetch } from '../../src/http/outbound-fetch.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError, type UserErrors } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_ERRORS = 'userErrors { field code message }';
const FIELDS = `id environmentId organizationId name type provider status allowGuestDomains createdAt updatedAt
  saml { spEntityId acsUrl spMetadataUrl idpEntityId idpSsoUrl idpCertificates { fingerprint subject notBefore notAfter pem } allowIdpInitiated requireSignedAssertion allowSha1 }
  oidc { redirectUri issuer clientId hasClientSecret scopes }`;
const CREATE_SAML = `mutation($input: CreateSamlConnectionInput!) { createSamlConnection(input: $input) { ssoConnection { ${FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_SAML = `mutation($input: UpdateSamlConnectionInput!) { updateSamlConnection(input: $input) { ssoConnection { ${FIELDS} } ${USER_ERRORS} } }`;
const CREATE_OIDC = `mutation($input: CreateOidcConnectionInput!) { createOidcConnection(input: $input) { ssoConnection { ${FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_OIDC = `mutation($input: UpdateOidcConnectionInput!) { updateOidcConnection(input: $input) { ssoConnection { ${FIELDS} } ${USER_ERRORS} } }`;
const DELETE = `mutation($id: ID!) { deleteSsoConnection(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const LIST = `query($env: ID, $org: ID) { ssoConnections(environmentId: $env, organizationId: $org, first: 50) { totalCount nodes { id name } } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on SsoConnection { name status } } }`;
const AUDIT = `query($env: ID, $target: ID) { auditEvents(environmentId: $env, first: 20, filter: { targetId: $target }) { nodes { action before after } } }`;

// samlify as an independent reader of our SP metadata; loaded untyped, as in test/helpers/saml-idp.ts
// (its typings would pull the DOM library into the program).
const samlify = createRequire(import.meta.url)('samlify') as {
  ServiceProvider(settings: { metadata: string }): {
    entityMeta: { getEntityID(): string; getAssertionConsumerService(binding: string): string; isWantAssertionsSigned(): boolean };
  };
};

/** IdP metadata as Okta or ADFS offer it for download. */
const idpMetadata = (entityId: string, ssoUrl: string, certificates: string[], extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
${certificates
  .map(
    (pem, index) => `    <md:KeyDescriptor${index === 0 ? ' use="signing"' : ''}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
      <ds:X509Certificate>${pem.replace(/-----[A-Z ]+-----/g, '').trim()}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
  )
  .join('\n')}
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ssoUrl}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/>${extra}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let organizationId: string;
let certificate: string;
let nextCertificate: string;

type Payload = { ssoConnection: any; userErrors: UserErrors };
const run = async (document: string, input: Record<string, unknown>): Promise<Payload> => Object.values(await ws.client.data(document, { input }))[0] as Payload;
const ok = async (document: string, input: Record<string, unknown>) => {
  const payload = await run(document, input);
  expect(payload.userErrors).toEqual([]);
  return payload.ssoConnection;
};

/** A self-signed IdP certificate valid from `from` for `days` days. */
async function idpCertificate(commonName: string, from = new Date(Date.now() - 60_000), days = 365): Promise<string> {
  const { cert } = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256', notBeforeDate: from, notAfterDate: new Date(from.getTime() + days * 86_400_000) });
  return cert;
}

beforeAll(async () => {
  // The IdP metadata server of the URL tests listens on loopback, as in development.
  server = await startServer({ allowPrivateTargets: true });
  ws = await server.workspace('SSO');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  organizationId = (await ws.client.data(`mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`, { input: { environmentId: env, name: 'Acme' } }))
    .createOrganization.organization.id;
  [certificate, nextCertificate] = await Promise.all([idpCertificate('idp.acme.example'), idpCertificate('next.idp.acme.example')]);
});
afterAll(() => server.close());

describe('SAML connections', () => {
  it('start as drafts with the service provider side derived from the issuer, and become active once complete', async () => {
    const draft = await ok(CREATE_SAML, { organizationId, name: 'Acme Okta', provider: 'OKTA' });
    expect(draft).toMatchObject({ environmentId: env, organizationId, type: 'SAML', provider: 'OKTA', status: 'DRAFT', allowGuestDomains: false, oidc: null });
    expect(draft.id).toMatch(/^con_/);
    expect(draft.saml).toMatchObject({
      spEntityId: `${issuer}/sso/saml/${draft.id}`,
      acsUrl: `${issuer}/sso/saml/${draft.id}/acs`,
      spMetadataUrl: `${issuer}/sso/saml/${draft.id}/metadata`,
      idpEntityId: null,
      idpCertificates: [],
      allowIdpInitiated: false,
      requireSignedAssertion: true,
      allowSha1: false,
    });

    // Active needs the entity id, the SSO URL and a certificate; nothing changes when refused.
    expect((await run(UPDATE_SAML, { id: draft.id, status: 'ACTIVE', idpEntityId: 'http://www.okta.com/exk1' })).userErrors).toEqual(oneError('sso_connection.incomplete', ['input', 'status']));
    const base64Der = certificate.replace(/-----[A-Z ]+-----|\s/g, '');
    const active = await ok(UPDATE_SAML, {
      id: draft.id,
      status: 'ACTIVE',
      idpEntityId: 'http://www.okta.com/exk1',
      idpSsoUrl: 'https://acme.okta.com/app/exk1/sso/saml',
      // As IdP consoles show it (bare base64), and PEM: both read.
      idpCertificates: [base64Der, nextCertificate],
    });
    expect(active.status).toBe('ACTIVE');
    expect(active.saml.idpCertificates).toHaveLength(2);
    expect(active.saml.idpCertificates[0]).toMatchObject({ subject: 'CN=idp.acme.example', fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
    expect(new Date(active.saml.idpCertificates[0].notAfter).getTime()).toBeGreaterThan(Date.now() + 360 * 86_400_000);

    const events = (await ws.client.data(AUDIT, { env, target: draft.id })).auditEvents.nodes;
    expect(events.map((event: any) => event.action)).toEqual(['connection.updated', 'connection.created']);
    expect(events[0].after).toMatchObject({ status: 'ACTIVE', idpEntityId: 'http://www.okta.com/exk1', idpCertificates: [{ fingerprint: active.saml.idpCertificates[0].fingerprint }, expect.anything()] });
    // Certificates are named by fingerprint in the trail, not copied whole.
    expect(JSON.stringify(events[0].after)).not.toContain('BEGIN CERTIFICATE');
  });

  it('refuse what could never verify or be reached, naming the field', async () => {
    const expired = await idpCertificate('old.idp.example', new Date(Date.now() - 3 * 86_400_000), 1);
    const cases: [Record<string, unknown>, string, string[]][] = [
      [{ idpCertificates: ['not a certificate'] }, 'sso_connection.invalid_certificate', ['input', 'idpCertificates', '0']],
      [{ idpCertificates: [certificate, expired] }, 'sso_connection.certificate_expired', ['input', 'idpCertificates', '1']],
      [{ idpCertificates: [certificate, certificate] }, 'sso_connection.duplicate_certificate', ['input', 'idpCertificates', '1']],
      [{ idpCertificates: Array(6).fill(certificate) }, 'sso_connection.too_many_certificates', ['input', 'idpCertificates']],
      [{ idpSsoUrl: 'http://idp.example.com/sso' }, 'sso_connection.invalid_url', ['input', 'idpSsoUrl']],
      [{ idpSsoUrl: 'https://user:pass@idp.example.com/sso' }, 'sso_connection.invalid_url', ['input', 'idpSsoUrl']],
      [{ idpEntityId: 'not a uri' }, 'sso_connection.invalid_entity_id', ['input', 'idpEntityId']],
      [{ name: ' ' }, 'validation.required', ['input', 'name']],
    ];
    for (const [input, code, field] of cases) {
      const payload = await run(CREATE_SAML, { organizationId, name: 'Bad', ...input });
      expect(payload.userErrors, code).toEqual(oneError(code, field));
      expect(payload.ssoConnection).toBeNull();
    }
    // http is fine for an IdP on the developer's own machine.
    expect((await ok(CREATE_SAML, { organizationId, name: 'Local IdP', idpSsoUrl: 'http://localhost:8080/sso' })).saml.idpSsoUrl).toBe('http://localhost:8080/sso');
    // Another environment's organization, or none: not found.
    const elsewhere = await ws.client.request(CREATE_SAML, { input: { organizationId: 'org_01jzzzzzzzzzzzzzzzzzzzzzzz', name: 'Ghost' } });
    expect(elsewhere.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('IdP metadata', () => {
  it('fills the entity id, the redirect-binding SSO URL and the signing certificates; fields given beside it win', async () => {
    const xml = idpMetadata('http://www.okta.com/exkMeta', 'https://acme.okta.com/app/exkMeta/sso/saml', [certificate, nextCertificate]);
    const imported = await ok(CREATE_SAML, { organizationId, name: 'Imported', idpMetadataXml: xml, status: 'ACTIVE' });
    expect(imported.status).toBe('ACTIVE');
    expect(imported.saml).toMatchObject({ idpEntityId: 'http://www.okta.com/exkMeta', idpSsoUrl: 'https://acme.okta.com/app/exkMeta/sso/saml' });
    // The signing certificates only (use="signing" or no use), not the encryption one.
    expect(imported.saml.idpCertificates.map((c: any) => c.subject)).toEqual(['CN=idp.acme.example', 'CN=next.idp.acme.example']);
    const overridden = await ok(UPDATE_SAML, { id: imported.id, idpMetadataXml: xml, idpSsoUrl: 'https://acme.okta.com/other' });
    expect(overridden.saml.idpSsoUrl).toBe('https://acme.okta.com/other');
  });

  it('refuses a DTD, metadata without a signing certificate, and aggregates of many entities', async () => {
    const good = idpMetadata('http://idp.example/x', 'https://idp.example/sso', [certificate]);
    const field = ['input', 'idpMetadataXml'];
    for (const xml of [
      good.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x "y">]>'),
      idpMetadata('http://idp.example/x', 'https://idp.example/sso', []),
      `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${good.replace(/<\?xml[^>]*>/, '').repeat(2)}</md:EntitiesDescriptor>`,
      '<not-xml',
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>',
    ]) {
      expect((await run(CREATE_SAML, { organizationId, name: 'Bad metadata', idpMetadataXml: xml })).userErrors).toEqual(oneError('sso_connection.invalid_metadata', field));
    }
    // Its certificates are checked like any others.
    const expired = await idpCertificate('old.idp.example', new Date(Date.now() - 3 * 86_400_000), 1);
    expect((await run(CREATE_SAML, { organizationId, name: 'Expired', idpMetadataXml: idpMetadata('http://idp.example/x', 'https://idp.example/sso', [expired]) })).userErrors[0].code).toBe(
      'sso_connection.certificate_expired',
    );
  });
});

describe('certificate expiry', () => {
  it('announces each certificate at 90, 30 and 7 days before it expires, once each, kept across edits', async () => {
    const soon = await idpCertificate('soon.idp.example', new Date(Date.now() - 86_400_000), 21);
    const connection = await ok(CREATE_SAML, { organizationId, name: 'Expiring', idpCertificates: [soon, certificate] });
    const expiring = async () =>
      (await ws.client.data(`query($env: ID, $target: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["connection.certificate_expiring"], targetId: $target }) { nodes { actor { type } after } } }`, { env, target: connection.id }))
        .auditEvents.nodes;
    const orm = server.database.db.orm;
    // 20 days left: the 30-day warning (the 90-day one is covered by it), for that certificate only.
    await warnExpiringCertificates(orm);
    expect(await expiring()).toEqual([{ actor: { type: 'SYSTEM' }, after: expect.objectContaining({ subject: 'CN=soon.idp.example', threshold: 30, daysLeft: 19 }) }]);
    await warnExpiringCertificates(orm);
    expect(await expiring()).toHaveLength(1);
    // Listing it again (an edit of the list) keeps what was announced.
    await ok(UPDATE_SAML, { id: connection.id, idpCertificates: [certificate, soon] });
    await warnExpiringCertificates(orm);
    expect(await expiring()).toHaveLength(1);
    // A week later, 7 days are left.
    await warnExpiringCertificates(orm, new Date(Date.now() + 14 * 86_400_000));
    const events = await expiring();
    expect(events).toHaveLength(2);
    expect(events[0].after).toMatchObject({ threshold: 7 });
  });
});

describe('SP metadata', () => {
  it('is served per SAML connection, and read by a SAML IdP (samlify) as its service provider', async () => {
    const connection = await ok(CREATE_SAML, { organizationId, name: 'Metadata', requireSignedAssertion: false });
    const response = await fetch(connection.saml.spMetadataUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const sp = samlify.ServiceProvider({ metadata: await response.text() });
    expect(sp.entityMeta.getEntityID()).toBe(connection.saml.spEntityId);
    expect(sp.entityMeta.getAssertionConsumerService('post')).toBe(connection.saml.acsUrl);
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(false);

    // Nothing for an OIDC connection, an unknown id, or a connection under another environment's issuer.
    const oidc = await ok(CREATE_OIDC, { organizationId, name: 'Not SAML' });
    const production = ws.production.id;
    for (const url of [
      `${issuer}/sso/saml/${oidc.id}/metadata`,
      `${issuer}/sso/saml/con_01jzzzzzzzzzzzzzzzzzzzzzzz/metadata`,
      connection.saml.spMetadataUrl.replace(env, production),
    ]) {
      const refused = await fetch(url);
      expect(refused.status, url).toBe(404);
      expect(await refused.text()).toContain('reason: sso.unknown_connection');
    }
  });
});

describe('OIDC connections', () => {
  it('keep the client secret sealed and out of every answer and event; ask for openid always', async () => {
    const created = await ok(CREATE_OIDC, { organizationId, name: 'Acme Entra', provider: 'ENTRA_ID', issuer: 'https://login.microsoftonline.com/tenant/v2.0/', clientId: 'client-1', clientSecret: 's3cret-value', scopes: ['email'] });
    expect(created).toMatchObject({ type: 'OIDC', saml: null, oidc: { redirectUri: `${issuer}/sso/oidc/callback`, issuer: 'https://login.microsoftonline.com/tenant/v2.0', clientId: 'client-1', hasClientSecret: true, scopes: ['email', 'openid'] } });
    const active = await ok(UPDATE_OIDC, { id: created.id, status: 'ACTIVE' });
    expect(active.status).toBe('ACTIVE');
    expect((await run(UPDATE_OIDC, { id: created.id, clientSecret: null })).userErrors).toEqual(oneError('sso_connection.incomplete', ['input', 'status']));
    // A SAML change to an OIDC connection is refused.
    expect((await run(UPDATE_SAML, { id: created.id, allowSha1: true })).userErrors).toEqual(oneError('sso_connection.wrong_type', ['input', 'id']));

    const events = (await ws.client.data(AUDIT, { env, target: created.id })).auditEvents.nodes;
    expect(events[0].after).toMatchObject({ confidentialClient: true, status: 'ACTIVE' });
    expect(JSON.stringify(events)).not.toContain('s3cret-value');
    const stored = await server.database.db.orm.em.fork().getConnection().execute(`select oidc_client_secret_sealed from sso_connection where id = ?`, [created.id]);
    expect(stored[0].oidc_client_secret_sealed).toBeTruthy();
    expect(stored[0].oidc_client_secret_sealed).not.toContain('s3cret-value');
  });
});

describe('listing and deleting', () => {
  it('lists by organization and by environment, reads by node(id:), deletes, and goes with the organization', async () => {
    const other = (await ws.client.data(`mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`, { input: { environmentId: env, name: 'Globex' } }))
      .createOrganization.organization.id;
    const mine = await ok(CREATE_SAML, { organizationId: other, name: 'Globex ADFS', provider: 'ADFS' });
    const theirs = await ok(CREATE_SAML, { organizationId: other, name: 'Globex backup' });
    expect((await ws.client.data(LIST, { org: other })).ssoConnections).toEqual({ totalCount: 2, nodes: [{ id: mine.id, name: 'Globex ADFS' }, { id: theirs.id, name: 'Globex backup' }] });
    expect((await ws.client.data(LIST, { env })).ssoConnections.nodes.map((node: any) => node.id)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
    expect((await ws.client.data(NODE, { id: mine.id })).node).toEqual({ __typename: 'SsoConnection', id: mine.id, name: 'Globex ADFS', status: 'DRAFT' });

    expect((await ws.client.data(DELETE, { id: theirs.id })).deleteSsoConnection).toEqual({ deletedId: theirs.id, userErrors: [] });
    expect((await ws.client.request(DELETE, { id: theirs.id })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    await ws.client.data(`mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId } }`, { id: other });
    expect((await ws.client.request(NODE, { id: mine.id })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('needs organizations:read to read and organizations:write to change', async () => {
    const connection = await ok(CREATE_SAML, { organizationId, name: 'Scoped' });
    const keyWith = async (scopes: string[]) => {
      const created = await ws.client.data(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, { input: { name: scopes.join(' '), environmentId: env, scopes } });
      return ws.client.withKey(created.createApiKey.secret);
    };
    const reader = await keyWith(['organizations:read']);
    expect((await reader.data(NODE, { id: connection.id })).node.name).toBe('Scoped');
    for (const [document, variables] of [
      [CREATE_SAML, { input: { organizationId, name: 'Nope' } }],
      [UPDATE_SAML, { input: { id: connection.id, name: 'Nope' } }],
      [DELETE, { id: connection.id }],
    ] as const) {
      const result = await reader.request(document, variables);
      expect(result.errors?.[0].extensions?.code ?? Object.values(result.data ?? {})[0]).toBe('FORBIDDEN');
    }
    const outsider = await keyWith(['users:read']);
    expect((await outsider.request(LIST, { env })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('IdP metadata from a URL', () => {
  const METADATA = `query($id: ID!) { node(id: $id) { ... on SsoConnection { saml { idpMetadataUrl idpMetadataFetchedAt idpMetadataError idpEntityId idpCertificates { fingerprint } } } } }`;
  const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

  it('reads it when set, again when due, audits each change, and keeps what it had when the IdP fails', async () => {
    let served = idpMetadata('https://idp.url.example/entity', 'https://idp.url.example/sso', [certificate]);
    let status = 200;
    let requests = 0;
    const idp = http.createServer((_request, response) => {
      requests += 1;
      response.writeHead(status, { 'content-type': 'application/samlmetadata+xml' }).end(status === 200 ? served : 'down');
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/app/metadata`;
    const fetcher = guardedFetch({ maxBytes: 512 * 1024, timeoutMs: 5_000, allowPrivate: true });
    const day = 24 * 3600_000;
    try {
      const created = await ok(CREATE_SAML, { organizationId, name: 'By URL', idpMetadataUrl: url, status: 'ACTIVE' });
      const read = async () => (await ws.client.data(METADATA, { id: created.id })).node.saml;
      expect(await read()).toMatchObject({ idpMetadataUrl: url, idpMetadataError: null, idpEntityId: 'https://idp.url.example/entity', idpCertificates: [{ fingerprint: fingerprintOf(certificate) }] });
      expect((await read()).idpMetadataFetchedAt).not.toBeNull();

      // Not due yet: nothing is fetched.
      const before = requests;
      await refreshIdpMetadata(server.database.db.orm, fetcher, new Date(Date.now() + day / 2));
      expect(requests).toBe(before);
      // The IdP lists its next certificate: the next day's refresh takes it, and says so.
      served = idpMetadata('https://idp.url.example/entity', 'https://idp.url.example/sso', [certificate, nextCertificate]);
      expect(await refreshIdpMetadata(server.database.db.orm, fetcher, new Date(Date.now() + day + 60_000))).toBe(1);
      expect((await read()).idpCertificates).toHaveLength(2);
      const events = async () => (await ws.client.data(AUDIT, { env, target: created.id })).auditEvents.nodes;
      const refreshed = (await events()).find((event: { action: string }) => event.action === 'connection.metadata_refreshed');
      expect(refreshed.before.idpCertificates).toHaveLength(1);
      expect(refreshed.after.idpCertificates).toHaveLength(2);

      // The IdP fails: the connection keeps its certificates, says why, and the failure is audited once.
      status = 500;
      expect(await refreshIdpMetadata(server.database.db.orm, fetcher, new Date(Date.now() + 2 * day + 120_000))).toBe(0);
      await refreshIdpMetadata(server.database.db.orm, fetcher, new Date(Date.now() + 3 * day + 180_000));
      expect(await read()).toMatchObject({ idpMetadataError: 'the metadata URL answered HTTP 500', idpCertificates: [{}, {}] });
      expect((await events()).filter((event: { action: string }) => event.action === 'connection.metadata_refresh_failed')).toHaveLength(1);

      // A process whose outbound policy refuses private addresses never reaches it.
      status = 200;
      const strict = guardedFetch({ maxBytes: 512 * 1024, timeoutMs: 5_000, allowPrivate: false });
      const seen = requests;
      await refreshIdpMetadata(server.database.db.orm, strict, new Date(Date.now() + 4 * day + 240_000));
      expect(requests).toBe(seen);
      expect((await read()).idpMetadataError).toMatch(/could not be fetched/);

      // A URL that gives no usable metadata refuses the change at once.
      expect((await run(CREATE_SAML, { organizationId, name: 'Nowhere', idpMetadataUrl: 'http://127.0.0.1:9/metadata' })).userErrors).toEqual(
        oneError('sso_connection.metadata_unavailable', ['input', 'idpMetadataUrl']),
      );
      served = '<html>not metadata</html>';
      expect((await run(UPDATE_SAML, { id: created.id, idpMetadataUrl: url })).userErrors[0].code).toBe('sso_connection.invalid_metadata');
      expect((await run(CREATE_SAML, { organizationId, name: 'Plain http', idpMetadataUrl: 'http://idp.example.com/metadata' })).userErrors[0].code).toBe('sso_connection.invalid_url');
    } finally {
      idp.closeAllConnections();
      await new Promise((resolve) => idp.close(resolve));
    }
  });
});
