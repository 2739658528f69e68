import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { checkResourceIdentifier, checkScopeList, MAX_SCOPES } from '../oauth-client/oauth-client.validation.js';
import { OAuthClientRepository } from '../oauth-client/oauth-client.repository.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName, checkOptionalText } from '../validation.js';
import type { ResourceServer, ResourceScope } from './resource-server.entity.js';
import { ResourceServerRepository } from './resource-server.repository.js';

const MAX_URL_LENGTH = 2048;

const serverTarget = (server: ResourceServer) => ({ type: 'resource_server', id: server.id, name: server.identifier });
const snapshotServer = (server: ResourceServer) => ({
  id: server.id,
  name: server.name,
  identifier: server.identifier,
  scopes: server.scopes,
  documentationUrl: server.documentationUrl,
});

/** Scopes of a resource server: unique scope-token names, each with an optional description, by name. */
function checkScopes(scopes: { name: string; description?: string | null }[], field: string[]): ResourceScope[] {
  if (scopes.length > MAX_SCOPES) throw invalid('oauth.invalid_scope', `At most ${MAX_SCOPES} scopes`, field);
  const names = scopes.map((scope) => scope.name);
  checkScopeList(names, field);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw invalid('resource_server.duplicate_scope', `The scope "${duplicate}" is listed twice`, field);
  return scopes
    .map((scope) => ({ name: scope.name, description: checkOptionalText(scope.description, field, 500) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `resource_documentation` (RFC 9728): an absolute http(s) URL, or null. */
function checkDocumentationUrl(value: string | null | undefined, field: string[]): string | null {
  if (value == null || value === '') return null;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || value.length > MAX_URL_LENGTH) {
    throw invalid('resource_server.invalid_documentation_url', `Must be an absolute http or https URL of at most ${MAX_URL_LENGTH} characters`, field);
  }
  return value;
}

export async function getResourceServer(ctx: ServiceContext, id: string): Promise<ResourceServer> {
  requireScope(ctx.principal, 'oauth:read');
  return new ResourceServerRepository(ctx.em).get(id);
}

export async function listResourceServers(ctx: ServiceContext, environmentId: string | null | undefined, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'oauth:read');
  const where = { environmentId: environmentFor(ctx, environmentId) };
  return new ResourceServerRepository(ctx.em).page(where, args, maxPageSize);
}

export async function createResourceServer(
  ctx: ServiceContext,
  input: {
    environmentId?: string | null;
    name: string;
    identifier: string;
    scopes?: { name: string; description?: string | null }[] | null;
    documentationUrl?: string | null;
  },
): Promise<ResourceServer> {
  requireScope(ctx.principal, 'oauth:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const values = {
    id: newId('resourceServer'),
    environmentId,
    name: checkName(input.name, ['input', 'name']),
    identifier: checkResourceIdentifier(input.identifier, ['input', 'identifier']),
    scopes: checkScopes(input.scopes ?? [], ['input', 'scopes']),
    documentationUrl: checkDocumentationUrl(input.documentationUrl, ['input', 'documentationUrl']),
  };
  return inTransaction(ctx, async (em) => {
    const server = new ResourceServerRepository(em).create(values);
    audit(ctx, em, { action: 'resource_server.created', environmentId, targets: [serverTarget(server)], after: snapshotServer(server) });
    return server;
  });
}

/** The identifier is immutable: tokens already issued carry it as their audience. */
export async function updateResourceServer(
  ctx: ServiceContext,
  input: { id: string; name?: string | null; scopes?: { name: string; description?: string | null }[] | null; documentationUrl?: string | null },
): Promise<ResourceServer> {
  requireScope(ctx.principal, 'oauth:write');
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  const scopes = input.scopes != null ? checkScopes(input.scopes, ['input', 'scopes']) : undefined;
  const documentationUrl = input.documentationUrl !== undefined ? checkDocumentationUrl(input.documentationUrl, ['input', 'documentationUrl']) : undefined;
  return inTransaction(ctx, async (em) => {
    const server = await new ResourceServerRepository(em).lock(input.id);
    const before = snapshotServer(server);
    if (name !== undefined) server.name = name;
    if (scopes !== undefined) server.scopes = scopes;
    if (documentationUrl !== undefined) server.documentationUrl = documentationUrl;
    audit(ctx, em, {
      action: 'resource_server.updated',
      environmentId: server.environmentId,
      targets: [serverTarget(server)],
      before,
      after: snapshotServer(server),
    });
    return server;
  });
}

/**
 * Deletes a resource server and removes its identifier from the allowed audiences of every
 * client of its environment, in one transaction; the event names those clients.
 */
export async function deleteResourceServer(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'oauth:write');
  return inTransaction(ctx, async (em) => {
    const servers = new ResourceServerRepository(em);
    const server = await servers.lock(input.id);
    const clients = await new OAuthClientRepository(em).removeAudience(server.environmentId, server.identifier);
    await servers.delete(server.id);
    const clientTargets = clients.map((client) => ({
      type: client.kind === 'SERVICE_ACCOUNT' ? 'service_account' : 'application',
      id: client.id,
      name: client.name,
    }));
    audit(ctx, em, {
      action: 'resource_server.deleted',
      environmentId: server.environmentId,
      targets: [serverTarget(server), ...clientTargets],
      before: { ...snapshotServer(server), clientIds: clients.map((client) => client.id).sort() },
    });
    return server.id;
  });
}
