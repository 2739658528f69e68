import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** DNS is the outside world: a fake zone stands in for it. */
const zone = new Map<string, string[]>();
const failing = new Set<string>();
const lookups: string[] = [];
async function resolveTxt(name: string): Promise<string[]> {
  lookups.push(name);
  if (failing.has(name)) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
  return zone.get(name) ?? [];
}

let server: TestServer;
let ws: TestWorkspace;
const DOMAIN = 'domain { id domain state verificationToken verifiedAt }';

beforeAll(async () => {
  server = await startServer({}, { resolveTxt });
  ws = await server.workspace();
});
afterAll(() => server.close());

async function addDomain(domain: string) {
  const org = await ws.client.data(
    `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id domains { id verificationToken } } } }`,
    { input: { environmentId: ws.development.id, name: domain, domains: [{ domain }] } },
  );
  return org.createOrganization.organization.domains[0] as { id: string; verificationToken: string };
}

const verify = (id: string) =>
  ws.client.data(`mutation($id: ID!) { verifyOrganizationDomain(input: { id: $id }) { ${DOMAIN} userErrors { code field } } }`, { id });

describe('domain verification', () => {
  it('verifies a domain whose TXT record holds its token, and audits it', async () => {
    const domain = await addDomain('proven.example');
    expect(domain.verificationToken).toMatch(/^gatehouse-verification=[A-Za-z0-9_-]{43}$/);
    zone.set('_gatehouse-verification.proven.example', ['v=spf1 -all', domain.verificationToken]);
    const result = await verify(domain.id);
    expect(result.verifyOrganizationDomain.userErrors).toEqual([]);
    expect(result.verifyOrganizationDomain.domain).toMatchObject({ state: 'VERIFIED', verifiedAt: expect.stringMatching(/^\d{4}-/) });
    expect(lookups).toContain('_gatehouse-verification.proven.example');
    const events = await ws.client.data('query($id: ID) { auditEvents(filter: { targetId: $id }) { nodes { action before after } } }', {
      id: domain.id,
    });
    expect(events.auditEvents.nodes[0]).toMatchObject({
      action: 'organization.domain_verified',
      before: { state: 'PENDING' },
      after: { state: 'VERIFIED', recordsFound: 2 },
    });
    expect(JSON.stringify(events)).not.toContain(domain.verificationToken);
  });

  it('marks a domain FAILED when no record holds the token', async () => {
    const domain = await addDomain('unproven.example');
    zone.set('_gatehouse-verification.unproven.example', ['gatehouse-verification=somebody-elses-token']);
    const result = await verify(domain.id);
    expect(result.verifyOrganizationDomain.domain).toMatchObject({ state: 'FAILED', verifiedAt: null });
    const events = await ws.client.data('query($id: ID) { auditEvents(filter: { targetId: $id, actions: ["organization.domain_verified", "organization.domain_verification_failed"] }) { nodes { action } } }', {
      id: domain.id,
    });
    expect(events.auditEvents.nodes.map((e: { action: string }) => e.action)).toEqual(['organization.domain_verification_failed']);
  });

  it('changes nothing when DNS cannot answer, and says so', async () => {
    const domain = await addDomain('flaky.example');
    failing.add('_gatehouse-verification.flaky.example');
    const result = await verify(domain.id);
    expect(result.verifyOrganizationDomain).toMatchObject({
      domain: null,
      userErrors: [{ code: 'organization.domain_lookup_failed', field: ['input', 'id'] }],
    });
    const stored = await ws.client.data('query($id: ID!) { node(id: $id) { ... on OrganizationDomain { state } } }', { id: domain.id });
    expect(stored.node.state).toBe('PENDING');
  });

  it('lets an administrator set the state by hand, audited', async () => {
    const domain = await addDomain('manual.example');
    const set = await ws.client.data(
      `mutation($id: ID!) { updateOrganizationDomain(input: { id: $id, state: VERIFIED }) { ${DOMAIN} userErrors { code } } }`,
      { id: domain.id },
    );
    expect(set.updateOrganizationDomain.domain).toMatchObject({ state: 'VERIFIED', verifiedAt: expect.any(String) });
    const back = await ws.client.data(
      `mutation($id: ID!) { updateOrganizationDomain(input: { id: $id, state: PENDING }) { ${DOMAIN} } }`,
      { id: domain.id },
    );
    expect(back.updateOrganizationDomain.domain).toMatchObject({ state: 'PENDING', verifiedAt: null });
    const events = await ws.client.data('query($id: ID) { auditEvents(filter: { targetId: $id, actions: ["organization.domain_updated"] }) { totalCount } }', {
      id: domain.id,
    });
    expect(events.auditEvents.totalCount).toBe(2);
  });

  it('needs organizations:write', async () => {
    const domain = await addDomain('scoped.example');
    const key = await ws.client.data('mutation { createApiKey(input: { name: "ro", scopes: ["organizations:read"] }) { secret } }');
    const result = await ws.client.withKey(key.createApiKey.secret).request(
      'mutation($id: ID!) { verifyOrganizationDomain(input: { id: $id }) { domain { state } } }',
      { id: domain.id },
    );
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
  });
});
