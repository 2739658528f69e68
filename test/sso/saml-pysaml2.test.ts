import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { createSigningKey, toBase64 } from '../helpers/saml-idp.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

// The second, independent signer: Debian's pysaml2, whose signatures come from xmlsec1
// (libxml2 + OpenSSL), sharing nothing with node-saml and xml-crypto, which samlify uses too.
const PYTHON = '/usr/bin/python3';
const IDP_SCRIPT = fileURLToPath(new URL('../helpers/pysaml2-idp.py', import.meta.url));
const available = spawnSync(PYTHON, ['-c', 'import saml2'], { stdio: 'ignore' }).status === 0 && existsSync('/usr/bin/xmlsec1');
// On PostgreSQL (CI) nothing may skip: without the packages the tests run and fail.
const skip = !available && !process.env.DATABASE_URL;
if (skip) {
  console.warn('[saml pysaml2] skipped: /usr/bin/python3 cannot import saml2 or xmlsec1 is missing; install them with `apt-get install -y python3-pysaml2 xmlsec1` (.ci/run does)');
}

const REDIRECT = 'http://localhost:3000/callback';
const IDP_ENTITY = 'https://idp.pysaml2.test/metadata';
const IDP_SSO = 'https://idp.pysaml2.test/sso';

interface KeyFiles {
  key: string;
  cert: string;
}
interface Job {
  sign: 'response' | 'assertion' | 'both';
  requestId: string;
  nameId: string;
  attributes: Record<string, string[]>;
  keys?: KeyFiles;
}

/**
 * One pysaml2-idp.py process for the file: a job goes in as a line of JSON, its Response comes
 * back as a line, in order.
 */
class Pysaml2Process {
  private readonly child = spawn(PYTHON, [IDP_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  private readonly waiting: { resolve: (xml: string) => void; reject: (error: Error) => void }[] = [];
  private readonly closed: Promise<void>;
  private stderr = '';

  constructor() {
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(JSON.parse(line) as string));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // A write after an early exit fails; the exit below reports why.
    this.child.stdin.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.child.on('close', (code) => {
        const error = new Error(`pysaml2-idp.py exited with ${code}: ${this.stderr}`);
        for (const waiter of this.waiting.splice(0)) waiter.reject(error);
        resolve();
      }),
    );
  }

  response(job: Record<string, unknown>): Promise<string> {
    if (this.child.exitCode !== null) return Promise.reject(new Error(`pysaml2-idp.py has exited: ${this.stderr}`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ ...job, output: 'xml' })}\n`);
    });
  }

  close(): Promise<void> {
    this.child.stdin.end();
    return this.closed;
  }
}

describe.skipIf(skip)('SAML sign-in with responses signed by pysaml2 and xmlsec1', () => {
  let server: TestServer;
  let ws: TestWorkspace;
  let env: string;
  let organizationId: string;
  let connection: { id: string; saml: { spEntityId: string; acsUrl: string } };
  let config: client.Configuration;
  let dir: string;
  let trusted: KeyFiles;
  let stranger: KeyFiles;
  let idp: Pysaml2Process;

  /** A key and certificate of node:crypto, written where pysaml2 (xmlsec1) reads them. */
  async function keyFiles(name: string): Promise<KeyFiles & { pem: string }> {
    const key = await createSigningKey(name);
    const files = { key: path.join(dir, `${name}.key.pem`), cert: path.join(dir, `${name}.cert.pem`) };
    writeFileSync(files.key, key.privateKey);
    writeFileSync(files.cert, key.cert);
    return { ...files, pem: key.cert };
  }

  beforeAll(async () => {
    // Started first: importing pysaml2 takes a second, spent while the server starts.
    idp = new Pysaml2Process();
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-pysaml2-'));
    const [mine, theirs] = await Promise.all([keyFiles('idp.pysaml2.test'), keyFiles('other.pysaml2.test')]);
    trusted = mine;
    stranger = theirs;
    server = await startServer();
    ws = await server.workspace('SAML with pysaml2');
    env = ws.development.id;
    const { issuer } = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment;
    organizationId = (
      await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme', domains: [{ domain: 'acme.test', state: 'VERIFIED' }] })
    ).organization.id;
    connection = (
      await mutate(ws.client, 'createSamlConnection', 'CreateSamlConnectionInput', 'ssoConnection { id saml { spEntityId acsUrl } }', {
        organizationId,
        name: 'pysaml2 IdP',
        status: 'ACTIVE',
        idpEntityId: IDP_ENTITY,
        idpSsoUrl: IDP_SSO,
        idpCertificates: [mine.pem],
        // A Response-only signature is tested too.
        requireSignedAssertion: false,
      })
    ).ssoConnection;
    const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
    const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
    config = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
  });
  afterAll(async () => {
    await Promise.all([server?.close(), idp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** pysaml2's signed Response XML for one job. */
  function pysaml2(job: Job): Promise<string> {
    return idp.response({
      idpEntityId: IDP_ENTITY,
      spEntityId: connection.saml.spEntityId,
      acsUrl: connection.saml.acsUrl,
      inResponseTo: job.requestId,
      nameId: job.nameId,
      attributes: job.attributes,
      ...(job.keys ?? trusted),
      sign: job.sign,
      algorithm: 'sha256',
    });
  }

  /** Authorize → email page → Gatehouse's redirect to the IdP: the AuthnRequest's ID, the RelayState and the PKCE verifier. */
  async function toIdp(browser: HttpBrowser, email: string) {
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
    await browser.go(url.toString());
    const { fields } = browser.form('/sign-in/email');
    const sent = await browser.go(`/e/${env}/sign-in/email`, { form: { ...fields, email } });
    expect('redirect' in sent, browser.html.slice(0, 1500)).toBe(true);
    const atIdp = (sent as { redirect: URL }).redirect;
    expect(`${atIdp.origin}${atIdp.pathname}`).toBe(IDP_SSO);
    const request = inflateRawSync(Buffer.from(atIdp.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    return { verifier, requestId: /ID="([^"]+)"/.exec(request)![1]!, relayState: atIdp.searchParams.get('RelayState')! };
  }

  /** pysaml2's default (URI) name format: mail, givenName and sn become their urn:oid: names. */
  const person = (email: string) => ({ mail: [email], givenName: ['Alice'], sn: ['Example'] });

  it.each(['assertion', 'both', 'response'] as const)('signs in end to end with a response whose %s pysaml2 signed', async (sign) => {
    const email = `alice-${sign}@acme.test`;
    const browser = new HttpBrowser(server.url);
    const { verifier, requestId, relayState } = await toIdp(browser, email);
    const xml = await pysaml2({ sign, requestId, nameId: email, attributes: person(email) });
    // What pysaml2 made: its own prefixes and ids, xmlsec1's signature where asked for.
    expect(xml).toContain('urn:oid:0.9.2342.19200300.100.1.3');
    expect((xml.match(/<ns\d+:Signature\b/g) ?? []).length).toBe(sign === 'both' ? 2 : 1);
    const back = await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml), RelayState: relayState } });
    expect('redirect' in back, `${browser.status} ${browser.html.slice(0, 600)}`).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, (back as { redirect: URL }).redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email, email_verified: true, given_name: 'Alice', family_name: 'Example', org_id: organizationId, amr: ['sso'] });
  });

  it.each([
    ['the NameID of an assertion-signed response', 'assertion', (xml: string) => xml.replace(/(<ns\d+:NameID\b[^>]*>)bob@acme\.test</, '$1mallory@acme.test<')],
    ['the mail attribute of an assertion-signed response', 'assertion', (xml: string) => xml.replace(/(<ns\d+:AttributeValue\b[^>]*>)bob@acme\.test</, '$1mallory@acme.test<')],
    ['the mail attribute of a response signed twice', 'both', (xml: string) => xml.replace(/(<ns\d+:AttributeValue\b[^>]*>)bob@acme\.test</, '$1mallory@acme.test<')],
    ['the Audience of a response-signed response', 'response', (xml: string) => xml.replace(/(<ns\d+:Audience>)[^<]+</, '$1https://elsewhere.test/sp<')],
  ] as const)('refuses a pysaml2 response whose signed content was altered after signing: %s', async (_, sign, tamper) => {
    const browser = new HttpBrowser(server.url);
    const { verifier, requestId, relayState } = await toIdp(browser, 'bob@acme.test');
    const xml = await pysaml2({ sign, requestId, nameId: 'bob@acme.test', attributes: person('bob@acme.test') });
    const altered = tamper(xml);
    expect(altered).not.toBe(xml);
    const result = await browser.request(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(altered), RelayState: relayState } });
    expect(result.status).toBe(400);
    expect(browser.html).toContain('sso.bad_signature');
    // The control: the response as pysaml2 signed it is accepted, for Bob.
    const genuine = await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml), RelayState: relayState } });
    expect('redirect' in genuine, `${browser.status} ${browser.html.slice(0, 600)}`).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, (genuine as { redirect: URL }).redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'bob@acme.test', org_id: organizationId });
  });

  it('refuses a response pysaml2 signed with another key, though that key\'s certificate travels in KeyInfo', async () => {
    const browser = new HttpBrowser(server.url);
    const { requestId, relayState } = await toIdp(browser, 'carol@acme.test');
    for (const sign of ['assertion', 'both', 'response'] as const) {
      const xml = await pysaml2({ sign, requestId, nameId: 'carol@acme.test', attributes: person('carol@acme.test'), keys: stranger });
      const result = await browser.request(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml), RelayState: relayState } });
      expect(result.status).toBe(400);
      expect(browser.html).toContain('sso.bad_signature');
    }
    // Nobody was signed in by them.
    const users = (await ws.client.data(`query($env: ID) { users(environmentId: $env, first: 50) { nodes { email } } }`, { env })).users.nodes.map((u: { email: string }) => u.email);
    expect(users).not.toContain('carol@acme.test');
  });
});
