import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * Okta's and Entra ID's documented provisioning sequences (src/modules/directory/simulator),
 * replayed by the provisioning simulator into a directory whose organization has a verified
 * domain and maps the pushed group to a role: every request is answered as each IdP expects,
 * and each step does to users, memberships and roles what it should.
 */
let server: TestServer;
let ws: TestWorkspace;
let env: string;
let orgId: string;

const SIMULATE = `mutation($input: SimulateDirectoryProvisioningInput!) {
  simulateDirectoryProvisioning(input: $input) {
    simulation { provider domain groupName steps { index title quirk skipped method path requestBody status responseBody effects { action targets { type id name } } } }
    userErrors { code field message }
  }
}`;

interface Step {
  title: string;
  skipped: string | null;
  method: string;
  path: string;
  status: number | null;
  responseBody: { id?: string } | null;
  effects: { action: string; targets: { type: string; id: string; name: string | null }[] }[];
}

async function simulate(input: Record<string, unknown>) {
  return (await ws.client.data(SIMULATE, { input })).simulateDirectoryProvisioning;
}

const MEMBERSHIPS = `query($env: ID, $email: String!) { user(environmentId: $env, email: $email) { memberships { nodes { status organization { id } roles { key } } } } }`;
async function membershipOf(email: string) {
  const user = (await ws.client.data(MEMBERSHIPS, { env, email })).user;
  const membership = user?.memberships.nodes.find((node: { organization: { id: string } }) => node.organization.id === orgId);
  return membership ? { status: membership.status, roles: membership.roles.map((role: { key: string }) => role.key).sort() } : null;
}

const actionsOf = (step: Step) => step.effects.map((effect) => effect.action).sort();

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('IdP sequences');
  env = ws.development.id;
  orgId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme', domains: [{ domain: 'acme.test', state: 'VERIFIED' }] })).organization.id;
});
afterAll(() => server.close());

async function directory(provider: string) {
  return (
    await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', {
      organizationId: orgId,
      name: `Acme ${provider}`,
      provider,
      groupRoleMappings: [{ group: 'Engineering', roleKeys: ['admin'] }],
    })
  ).directory.id as string;
}

describe('Okta', () => {
  it('replays the sequence: each request answered as Okta expects, users, memberships and roles in step', async () => {
    const directoryId = await directory('OKTA');
    const { simulation, userErrors } = await simulate({ directoryId });
    expect(userErrors).toEqual([]);
    expect(simulation).toMatchObject({ provider: 'OKTA', domain: 'acme.test', groupName: 'Engineering' });
    const steps: Step[] = simulation.steps;
    expect(steps.map((step) => [step.method, step.status])).toEqual([
      ['GET', 200],
      ['POST', 201],
      ['POST', 201],
      ['GET', 200],
      ['POST', 201],
      ['PATCH', 204],
      ['PATCH', 204],
      ['PUT', 200],
      ['PATCH', 204],
      ['PATCH', 204],
      ['PATCH', 200],
      ['PATCH', 200],
      ['PATCH', 204],
      ['DELETE', 204],
      ['PATCH', 200],
    ]);
    expect(steps[0].path).toMatch(/^\/Users\?filter=userName\+eq\+%22ada\.[0-9a-f]{6}%40acme\.test%22&startIndex=1&count=100$/);

    const ada = steps[1].responseBody!.id!;
    const grace = steps[2].responseBody!.id!;
    const adaEmail = `${(steps[1].responseBody as { userName: string }).userName}`;
    const graceEmail = `${(steps[2].responseBody as { userName: string }).userName}`;
    // Creating a person of a verified domain makes a user and a membership.
    expect(actionsOf(steps[1])).toEqual(['directory.user.created', 'membership.created', 'user.created']);
    expect(steps[1].effects.find((effect) => effect.action === 'directory.user.created')!.targets[0]).toMatchObject({ type: 'directory_user', id: ada });
    // The mapped group's members become admins; leaving it, they go back to the default role.
    expect(actionsOf(steps[6])).toEqual(['directory.group.member_added', 'directory.group.member_added', 'membership.roles_changed', 'membership.roles_changed']);
    expect(actionsOf(steps[8])).toEqual(['directory.group.member_removed', 'membership.roles_changed']);
    expect(actionsOf(steps[9])).toEqual(['directory.group.member_added', 'membership.roles_changed']);
    // Deactivation cuts access; reactivation restores the roles the group gives.
    expect(actionsOf(steps[10])).toEqual(['directory.user.deprovisioned', 'directory.user.updated']);
    expect(actionsOf(steps[11])).toEqual(['directory.user.reactivated', 'directory.user.updated']);
    expect(actionsOf(steps[12])).toEqual(['directory.group.member_removed', 'directory.group.member_removed', 'membership.roles_changed', 'membership.roles_changed']);
    expect(actionsOf(steps[13])).toEqual(['directory.group.deleted']);

    expect(await membershipOf(adaEmail)).toEqual({ status: 'INACTIVE', roles: ['member'] });
    expect(await membershipOf(graceEmail)).toEqual({ status: 'ACTIVE', roles: ['member'] });
    const profile = await ws.client.data(`query($env: ID, $email: String!) { user(environmentId: $env, email: $email) { familyName } }`, { env, email: adaEmail });
    expect(profile.user.familyName).toBe('King');
    expect(grace).toMatch(/^dus_/);
  });
});

describe('Entra ID', () => {
  it('replays the sequence: probes, one member per request, the string booleans, soft then hard delete', async () => {
    const directoryId = await directory('ENTRA_ID');
    const { simulation } = await simulate({ directoryId });
    expect(simulation.provider).toBe('ENTRA_ID');
    const steps: Step[] = simulation.steps;
    expect(steps.map((step) => [step.method, step.status])).toEqual([
      ['GET', 200],
      ['POST', 201],
      ['GET', 200],
      ['POST', 201],
      ['GET', 200],
      ['POST', 201],
      ['PATCH', 204],
      ['PATCH', 204],
      ['GET', 200],
      ['PATCH', 200],
      ['PATCH', 204],
      ['PATCH', 200],
      ['DELETE', 204],
      ['PATCH', 200],
    ]);
    const adaEmail = (steps[1].responseBody as { userName: string }).userName;
    const graceEmail = (steps[3].responseBody as { userName: string }).userName;
    expect((steps[1].responseBody as Record<string, unknown>)['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toMatchObject({ department: 'Research' });
    // The membership check finds Ada in the group.
    expect(steps[8].responseBody).toMatchObject({ totalResults: 1 });
    expect((steps[9].responseBody as Record<string, unknown>)['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toMatchObject({ department: 'Analytical Engines' });
    expect(actionsOf(steps[11])).toEqual(['directory.user.deprovisioned', 'directory.user.updated']);
    expect(actionsOf(steps[12])).toEqual(['directory.user.deleted']);
    expect(await membershipOf(graceEmail)).toEqual({ status: 'INACTIVE', roles: ['member'] });
    expect(await membershipOf(adaEmail)).toEqual({ status: 'INACTIVE', roles: ['admin'] });

    // Replayed again into the same directory: new people, the existing group matched instead of made.
    const again = (await simulate({ directoryId, provider: 'ENTRA_ID' })).simulation.steps as Step[];
    expect(again[4].responseBody).toMatchObject({ totalResults: 1 });
    expect(again[5]).toMatchObject({ skipped: expect.stringContaining('exists'), status: null });
    expect(again.filter((step) => step.status !== null && step.status >= 400)).toEqual([]);
  });
});

describe('the simulator', () => {
  it('runs in DEVELOPMENT environments only, on an ACTIVE directory, and is audited', async () => {
    const prodOrg = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.production.id, name: 'Prod' })).organization.id;
    const prod = (await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', { organizationId: prodOrg, name: 'Prod', provider: 'OKTA' })).directory.id;
    expect((await simulate({ directoryId: prod })).userErrors).toEqual([expect.objectContaining({ code: 'directory.simulator_development_only' })]);
    const off = await directory('GENERIC');
    await mutate(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { id }', { id: off, status: 'INACTIVE' });
    expect((await simulate({ directoryId: off })).userErrors).toEqual([expect.objectContaining({ code: 'directory.inactive' })]);
    expect((await simulate({ directoryId: off, emailDomain: 'not a domain' })).userErrors[0].code).toMatch(/^directory\./);


    const outside = await directory('OKTA');
    expect((await simulate({ directoryId: outside, groupName: 'x" or displayName pr or displayName eq "y' })).userErrors).toEqual([expect.objectContaining({ code: 'directory.invalid_group_name' })]);
    const { simulation } = await simulate({ directoryId: outside, emailDomain: 'elsewhere.test', groupName: 'Other' });
    // Outside the verified domains: provisioned, but no user and no membership.
    expect(actionsOf(simulation.steps[1])).toEqual(['directory.user.created']);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.simulation_run"] }) { nodes { actor { type } targets { id } after } } }`, { env });
    expect(events.auditEvents.nodes[0]).toMatchObject({ actor: { type: 'API_KEY' }, targets: [{ id: outside }], after: { provider: 'OKTA', domain: 'elsewhere.test', failed: 0 } });
  });
});

describe('the simulator page', () => {
  it('replays a sequence with the directory\'s own token and shows each step; refuses another token, and production', async () => {
    const created = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id }', { organizationId: orgId, name: 'Acme page', provider: 'ENTRA_ID' });
    const browser = new HttpBrowser(server.url);
    const path = `/e/${env}/directories/${created.directory.id}/simulator`;
    expect('page' in (await browser.go(path))).toBe(true);
    expect(browser.status).toBe(200);
    // The form alone does not name the directory.
    expect(browser.html).not.toContain('Acme page');

    await browser.submit('/simulator', { token: 'gh_scim_not-the-token', provider: 'ENTRA_ID', domain: '', group: '' });
    expect(browser.status).toBe(401);
    expect(browser.html).toContain('not the directory');
    const refused = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.authentication_failed"] }) { nodes { targets { id } after } } }`, { env });
    expect(refused.auditEvents.nodes[0]).toMatchObject({ targets: [{ id: created.directory.id }], after: { reason: 'token_mismatch', path: '/simulator' } });

    await browser.submit('/simulator', { token: created.token, provider: 'ENTRA_ID', domain: 'acme.test', group: 'Page group' });
    expect(browser.status).toBe(200);
    expect(browser.html).toContain('Acme page');
    expect(browser.html).toContain('Entra creates Ada');
    expect(browser.html).toContain('membership.created');
    expect(browser.html).toContain('PATCH /Groups/dgr_');
    const users = await ws.client.data(`query($dir: ID!) { directoryUsers(directoryId: $dir, first: 5) { totalCount } }`, { dir: created.directory.id });
    // Ada stays (disabled); Grace was deleted.
    expect(users.directoryUsers.totalCount).toBe(1);

    const prodOrg = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.production.id, name: 'Prod page' })).organization.id;
    const prod = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', { organizationId: prodOrg, name: 'Prod', provider: 'OKTA' });
    await browser.go(`/e/${ws.production.id}/directories/${prod.directory.id}/simulator`);
    expect(browser.status).toBe(404);
    // A directory of this environment under another environment's URL is not found either.
    await browser.go(`/e/${env}/directories/${prod.directory.id}/simulator`);
    expect(browser.status).toBe(404);
  });
});

describe('the simulator page in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('replays a sequence under the pages\' CSP, loading nothing from elsewhere, and refuses a form without its browser\'s CSRF token', async () => {
    // An organization of its own: the other tests took Acme's five directories.
    const organization = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme browser', domains: [{ domain: 'browser.acme.test', state: 'VERIFIED' }] })).organization.id;
    const created = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id }', { organizationId: organization, name: 'Acme Chromium', provider: 'OKTA' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (entry) => {
      if (entry.type() === 'error' && !entry.location().url.endsWith('/favicon.ico')) problems.push(entry.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== new URL(server.url).origin) elsewhere.push(request.url());
    });
    const path = `${server.url}/e/${env}/directories/${created.directory.id}/simulator`;
    await page.goto(path);
    await page.getByRole('heading', { name: 'Provisioning simulator' }).waitFor();
    await page.getByLabel('The directory\'s bearer token').fill(created.token);
    await page.getByLabel('Sequence').selectOption('OKTA');
    await page.getByLabel('Email domain').fill('browser.acme.test');
    await page.getByRole('button', { name: 'Replay the sequence' }).click();
    await page.getByText('Okta creates Ada').waitFor({ timeout: 15_000 });
    expect(await page.getByText('Acme Chromium').count()).toBeGreaterThan(0);
    expect(await page.locator('ol.steps > li').count()).toBe(15);
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
    await context.close();

    // The same form posted without the cookie of the browser that opened it.
    const forged = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: 'x', token: created.token, provider: 'OKTA' }), redirect: 'manual' });
    expect(forged.status).toBe(403);
    const users = await ws.client.data(`query($dir: ID!) { directoryUsers(directoryId: $dir, first: 5) { totalCount } }`, { dir: created.directory.id });
    expect(users.directoryUsers.totalCount).toBe(2);
  });
});
