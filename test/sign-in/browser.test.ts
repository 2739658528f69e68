import http from 'node:http';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient text } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let browser: Browser;
/** The sample application: it only records where the browser came back to. */
let app: http.Server;
let appOrigin: string;
const callbacks: URL[] = [];

async function createWebApp(input: Record<string, unknown> = {}) {
  const created = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', {
    environmentId: env,
    name: 'Sample app',
    type: 'WEB',
    redirectUris: [`${appOrigin}/callback`],
    postLogoutRedirectUris: [`${appOrigin}/signed-out`],
    ...input,
  });
  const clientId = created.application.clientId;
  const secret = (await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret;
  return client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
}

async function authorizationUrl(config: client.Configuration, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${appOrigin}/callback`,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    ...extra,
  });
  return { url, verifier, state: url.searchParams.get('state')! };
}

async function mail(to: string) {
  const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
  expect(message.recipient).toBe(to);
  return { code: /code is (\d{6})/.exec(message.text)![1], link: /(http\S+\/sign-in\/link\?token=\S+)/.exec(message.text)![1] };
}

/** Waits for the browser to land on the sample app's callback; returns that URL. */
async function landed(page: Page): Promise<URL> {
  await page.waitForURL((url) => url.toString().startsWith(appOrigin), { timeout: 10_000 });
  return new URL(page.url());
}

/** Collects CSP violations and page errors: a hosted page must cause none. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (entry) => {
    // The browser's own favicon probe is not the page's doing.
    if (entry.type() === 'error' && !entry.location().url.endsWith('/favicon.ico')) problems.push(entry.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

async function typeEmail(page: Page, email: string) {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Browser');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  app = http.createServer((request, response) => {
    callbacks.push(new URL(request.url!, appOrigin));
    response.writeHead(200, { 'content-type': 'text/plain' }).end('sample app');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://localhost:${(app.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await server.close();
});

describe('hosted pages in Chromium', () => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await browser.newContext();
  });
  afterAll(() => context.close());

  it('signs up by code without JavaScript, under a strict CSP, and lands back in the app with a code', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const page = await noScript.newPage();
    const problems = watch(page);
    const config = await createWebApp();
    const { url, verifier, state } = await authorizationUrl(config);
    const response = await page.goto(url.toString());
    expect(response!.status()).toBe(200);
    const csp = (await response!.allHeaders())['content-security-policy'];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    // The stylesheet loaded under the CSP (our own origin).
    const background = await page.getByRole('button', { name: 'Continue' }).evaluate((button) => (globalThis as unknown as { getComputedStyle(element: unknown): { backgroundColor: string } }).getComputedStyle(button).backgroundColor);
    expect(background).toMatch(/^rgb\((39, 83, 215|124, 156, 255)\)$/);
    await typeEmail(page, 'chromium-user@example.com');
    await page.getByLabel('Code').fill((await mail('chromium-user@example.com')).code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const callback = await landed(page);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!.email).toBe('chromium-user@example.com');
    const cookies = await noScript.cookies();
    const session = cookies.find((cookie) => cookie.name === `gh_session_${env}`)!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(problems).toEqual([]);
    await noScript.close();
  });

  it('signs in by magic link, chooses an organization, consents, and signs out', async () => {
    const user = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'linked@example.com' });
    for (const name of ['Acme', 'Globex']) {
      const org = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name });
      await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: org.organization.id, userId: user.user.id });
    }
    const config = await createWebApp({ name: 'Partner tool', firstParty: false });
    const page = await context.newPage();
    const problems = watch(page);
    const { url, verifier, state } = await authorizationUrl(config);
    await page.goto(url.toString());
    await typeEmail(page, 'linked@example.com');
    await page.goto((await mail('linked@example.com')).link);
    await page.getByRole('button', { name: 'Continue signing in' }).click();

    await page.waitForSelector('text=Choose an organization');
    await page.getByLabel('Globex').check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.waitForSelector('text=Allow Partner tool?');
    expect(await page.textContent('main')).toContain('See your email address');
    await page.getByRole('button', { name: 'Allow' }).click();
    const callback = await landed(page);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ email: 'linked@example.com', amr: ['mail'] });
    expect(tokens.claims()!.org_id).toMatch(/^org_/);

    // RP-initiated logout with the ID token: straight back to the registered URI.
    await page.goto(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${appOrigin}/signed-out`, state: 'bye' }).toString());
    const back = await landed(page);
    expect(back.pathname).toBe('/signed-out');
    expect(back.searchParams.get('state')).toBe('bye');
    expect((await context.cookies()).some((cookie) => cookie.name === `gh_session_${env}`)).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('cannot be framed', async () => {
    const config = await createWebApp();
    const { url } = await authorizationUrl(config);
    const page = await context.newPage();
    // setContent waits for the load event, which waits for the frame (loaded or blocked).
    await page.setContent(`<iframe src="${url.toString()}"></iframe>`);
    const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
    const framed = frame ? await frame.content().catch(() => '') : '';
    expect(framed).not.toContain('Email address');
    await page.close();
  });
});
