import type { EntityManager } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/db/repository.js';
import { environmentsOf, scopedFork, systemFork, TENANT_COLUMNS, tenantScope, TenantScopeViolation } from '../../src/db/tenant-scope.js';
import { Organization } from '../../src/modules/organization/organization.entity.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** The smallest repository: the base class is what every module's repository builds on. */
class Organizations extends Repository<Organization> {
  constructor(em: EntityManager) {
    super(em, Organization, 'organization');
  }
}

const CREATE = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';

let server: TestServer;
let ws: TestWorkspace;
let other: TestWorkspace;
const ids: Record<'dev' | 'prod' | 'other', string> = { dev: '', prod: '', other: '' };

async function createOrganization(workspace: TestWorkspace, environmentId: string, name: string): Promise<string> {
  const data = await workspace.client.data<{ createOrganization: { organization: { id: string } } }>(CREATE, { input: { environmentId, name } });
  return data.createOrganization.organization.id;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  other = await server.workspace();
  ids.dev = await createOrganization(ws, ws.development.id, 'Dev org');
  ids.prod = await createOrganization(ws, ws.production.id, 'Prod org');
  ids.other = await createOrganization(other, other.development.id, 'Other org');
});

afterAll(() => server.close());

const orm = () => server.database.db.orm;
const devOnly = () => scopedFork(orm(), tenantScope(ws.workspace.id, [ws.development.id]));

describe('tenant scope by construction', () => {
  it('lists every entity with a tenant column', () => {
    const metadata = Object.values(orm().getMetadata().getAll());
    const tenantEntities = metadata
      .filter((meta) => !meta.pivotTable && ('environmentId' in meta.properties || 'workspaceId' in meta.properties))
      .map((meta) => meta.className);
    expect(tenantEntities.length).toBeGreaterThan(10);
    for (const name of tenantEntities) expect(Object.keys(TENANT_COLUMNS), `${name} has a tenant column`).toContain(name);
  });

  it('refuses every read, count, update and delete of tenant data without a scope', async () => {
    const unscoped = orm().em.fork();
    await expect(unscoped.find(Organization, {})).rejects.toThrow(/No arguments provided for filter 'tenant'/);
    await expect(unscoped.findOne(Organization, { id: ids.dev })).rejects.toThrow(/filter 'tenant'/);
    await expect(unscoped.count(Organization, {})).rejects.toThrow(/filter 'tenant'/);
    await expect(unscoped.nativeUpdate(Organization, { id: ids.dev }, { name: 'Renamed' })).rejects.toThrow(/filter 'tenant'/);
    await expect(unscoped.nativeDelete(Organization, { id: ids.dev })).rejects.toThrow(/filter 'tenant'/);
    expect(() => new Organizations(unscoped)).toThrow(/no tenant scope/);
    expect(() => environmentsOf(unscoped)).toThrow(/no tenant scope/);
  });

  it('refuses to flush a tenant row without a scope', async () => {
    const unscoped = orm().em.fork();
    unscoped.persist(unscoped.create(Organization, { id: 'org_00000000000000000000000001', environmentId: ws.development.id, name: 'Sneaky' }));
    await expect(unscoped.flush()).rejects.toThrow(TenantScopeViolation);
  });

  it('reads only the scope’s environments, through the repository and the ORM alike', async () => {
    const em = devOnly();
    const organizations = new Organizations(em);
    expect((await organizations.get(ids.dev)).name).toBe('Dev org');
    await expect(organizations.get(ids.prod)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    await expect(organizations.get(ids.other)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    expect((await em.find(Organization, {})).map((org) => org.id)).toEqual([ids.dev]);
    expect(await em.count(Organization, { id: { $in: [ids.dev, ids.prod, ids.other] } })).toBe(1);
    expect(environmentsOf(em)).toEqual([ws.development.id]);
  });

  it('changes nothing outside the scope', async () => {
    const em = devOnly();
    expect(await em.nativeUpdate(Organization, { id: ids.prod }, { name: 'Hijacked' })).toBe(0);
    expect(await em.nativeDelete(Organization, { id: ids.other })).toBe(0);
    em.persist(em.create(Organization, { id: 'org_00000000000000000000000002', environmentId: ws.production.id, name: 'Planted' }));
    await expect(em.flush()).rejects.toThrow(TenantScopeViolation);
    const system = systemFork(orm(), 'test: reads what the attempts left');
    expect((await system.findOneOrFail(Organization, { id: ids.prod })).name).toBe('Prod org');
    expect(await system.findOne(Organization, { id: 'org_00000000000000000000000002' })).toBeNull();
  });

  it('lets system work span every tenant, visibly', async () => {
    const system = systemFork(orm(), 'test: every tenant');
    const found = await system.find(Organization, { id: { $in: [ids.dev, ids.prod, ids.other] } });
    expect(found).toHaveLength(3);
    expect(environmentsOf(system)).toBeNull();
  });
});
